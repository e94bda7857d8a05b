import js from "@eslint/js";
import tseslint from "typescript-eslint";
import pulumi from "@pulumi/eslint-plugin";

export default tseslint.config(
    { ignores: ["dist/", "node_modules/", "policy/node_modules/", "policy/dist/"] },
    js.configs.recommended,
    ...tseslint.configs.recommended,
    {
        files: ["**/*.ts"],
        languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
        plugins: { "@pulumi": pulumi },
        rules: {
            "@pulumi/no-output-in-template-literal": "error",
            "@pulumi/no-output-instance-in-template-literal": "error",
            "@typescript-eslint/no-require-imports": "off",
            "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_" }],
        },
    },
    {
        // Tests build deliberately malformed configs, and policies read the engine's untyped
        // resource properties (@pulumi/policy types them as any): no static type describes either.
        files: ["test/**/*.ts", "policy/**/*.ts"],
        rules: { "@typescript-eslint/no-explicit-any": "off" },
    },
    {
        // Programs the PAI manifests mount into OpenPAI's images: rest-server's Node 10 and
        // database-controller's Node 8 run them, so nothing past ES2017.
        files: ["components/pai/files/*.js"],
        languageOptions: {
            ecmaVersion: 2017, sourceType: "commonjs",
            globals: { require: "readonly", process: "readonly", Buffer: "readonly", console: "readonly" },
        },
        rules: { "@typescript-eslint/no-require-imports": "off", "@typescript-eslint/no-unused-vars": ["error", { caughtErrors: "none" }] },
    },
    {
        files: ["bin/*.js"],
        languageOptions: { globals: { require: "readonly", process: "readonly" }, sourceType: "commonjs" },
        rules: { "@typescript-eslint/no-require-imports": "off" },
    },
);
