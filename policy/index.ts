import { PolicyPack } from "@pulumi/policy";
import { policies } from "./policies";
import { enableSecretAwareness } from "./secrets";

enableSecretAwareness();

new PolicyPack("openpai", { policies });
