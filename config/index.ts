export * from "./errors";
export * from "./schema";
export * from "./fields";
export * from "./layout";
export * from "./stack";
export * from "./daemons";
export * from "./hived";
export * from "./import";
