/**
 * The stand-in provider's decisions, free of gRPC so that its own tests call them
 * directly: check (auto-naming), diff (update versus replace by {@link RULES}), create,
 * read, update, delete, invoke. Every call is journaled; create, update and delete change
 * the {@link World}.
 *
 * Protocol points it follows exactly (pulumi/pulumi `proto/pulumi/provider.proto`):
 * - diff compares the OLD INPUTS to the new inputs (`DiffRequest.old_inputs`), never the
 *   old outputs: outputs hold computed values the program never set;
 * - check gets the old inputs and fills an auto-name only when the program left it unset,
 *   keeping the old one (listed in `__defaults`) unless the engine re-checks without old
 *   inputs, which it does before a replacement;
 * - create and update return the inputs plus the outputs the provider computes, secrets
 *   still marked; during a preview (`preview: true`) computed outputs are unknown and
 *   nothing changes.
 */
import { appendEntry, JournalEntry, JournalMethod } from "./journal";
import { BRIDGED_PACKAGES, CreateContext, forcesReplacement, INVOKES, requestsDeleteBeforeReplace, RULES, TypeRule } from "./rules";
import { containsUnknown, digest, redact, reveal, sameValue, UNKNOWN } from "./values";
import { World } from "./world";

/** The bridge's list of inputs a provider filled itself (pulumi-terraform-bridge `reservedkeys.Defaults`). */
export const DEFAULTS_KEY = "__defaults";

type Props = Record<string, unknown>;

/** What diff tells the engine. */
export interface DiffDecision {
    changes: string[];
    replaces: string[];
    deleteBeforeReplace: boolean;
}

/** Type and name of a resource from its URN: `urn:pulumi:<stack>::<project>::<parent types$>type::<name>`. */
export function parseUrn(urn: string): { type: string; name: string } {
    const parts = urn.split("::");
    if (parts.length < 4) throw new Error(`not a URN: ${urn}`);
    const qualifiedType = parts[2];
    return { type: qualifiedType.slice(qualifiedType.lastIndexOf("$") + 1), name: parts.slice(3).join("::") };
}

/** Options of a stand-in: its package, where it journals, its world, and (for tests) its randomness. */
export interface StandInOptions {
    /** Provider package: docker, command, aws, cloudflare. */
    pkg: string;
    /** Journal file; calls are not journaled without one. */
    journal?: string;
    world: World;
    /** Random hex for ids; default crypto-random. */
    random?: () => string;
}

export class StandIn {
    private readonly random: () => string;

    constructor(private readonly options: StandInOptions) {
        this.random = options.random ?? (() => digest(`${process.pid}\0${process.hrtime.bigint()}\0${Math.random()}`));
    }

    private rule(type: string): TypeRule {
        const rule = RULES[type];
        if (!rule) throw new Error(`the ${this.options.pkg} stand-in has no rule for ${type}: add one to test/engine/stand-in/rules.ts`);
        return rule;
    }

    private journal(method: JournalMethod, fields: Partial<JournalEntry>): void {
        if (!this.options.journal) return;
        appendEntry(this.options.journal, {
            time: Date.now(),
            pid: process.pid,
            package: this.options.pkg,
            method,
            ...fields,
            ...(fields.inputs ? { inputs: redact(fields.inputs) as Props } : {}),
        });
    }

    /**
     * Validates and completes the inputs: the auto-named input, when the type has one and
     * the program left it unset, is the old auto-name or `<name>-<7 hex>` from the engine's
     * random seed (stable for one deployment, as the bridge's `NewUniqueName`).
     */
    check(urn: string, olds: Props, news: Props, randomSeed = ""): { inputs: Props; failures: { property: string; reason: string }[] } {
        const { type, name } = parseUrn(urn);
        const rule = RULES[type];
        if (!rule) {
            const reason = `the ${this.options.pkg} stand-in has no rule for ${type}: add one to test/engine/stand-in/rules.ts`;
            this.journal("check", { urn, type, inputs: news });
            return { inputs: news, failures: [{ property: "", reason }] };
        }
        const inputs: Props = { ...news };
        const defaults: string[] = [];
        const auto = rule.autoName;
        const unset = (k: string) => inputs[k] === undefined || inputs[k] === null;
        if (auto && unset(auto.key) && (auto.conflictsWith ?? []).every(unset)) {
            const oldDefaults = Array.isArray(olds[DEFAULTS_KEY]) ? (olds[DEFAULTS_KEY] as string[]) : [];
            inputs[auto.key] = oldDefaults.includes(auto.key) && typeof olds[auto.key] === "string" ? olds[auto.key] : `${name}-${digest(`${randomSeed}\0${urn}`, 7)}`;
            defaults.push(auto.key);
        }
        if (BRIDGED_PACKAGES.includes(this.options.pkg)) inputs[DEFAULTS_KEY] = defaults;
        this.journal("check", { urn, type, inputs });
        return { inputs, failures: [] };
    }

    /** Compares old inputs with new inputs; a changed key the type's rule names forces a replacement. */
    diff(id: string, urn: string, oldInputs: Props, news: Props, ignoreChanges: string[] = []): DiffDecision {
        const { type } = parseUrn(urn);
        const rule = this.rule(type);
        const ignored = new Set([DEFAULTS_KEY, ...ignoreChanges.map((p) => p.split(/[.[]/)[0])]);
        const keys = [...new Set([...Object.keys(oldInputs), ...Object.keys(news)])].filter((k) => !ignored.has(k)).sort();
        const changes = keys.filter((k) => containsUnknown(news[k]) || !sameValue(oldInputs[k], news[k]));
        const replaces = changes.filter((k) => forcesReplacement(rule, k));
        const deleteBeforeReplace = replaces.length > 0 && requestsDeleteBeforeReplace(rule, news, DEFAULTS_KEY);
        const decision = replaces.length > 0 ? "replace" : changes.length > 0 ? "update" : "none";
        this.journal("diff", { urn, type, id, inputs: news, changes, replaces, decision, deleteBeforeReplace });
        return { changes, replaces, deleteBeforeReplace };
    }

    private outputs(rule: TypeRule, ctx: CreateContext, inputs: Props, preview: boolean, previous: Props = {}): Props {
        const outputs: Props = { ...inputs };
        delete outputs[DEFAULTS_KEY];
        for (const [key, value] of Object.entries(rule.computed?.(ctx) ?? {})) {
            if (outputs[key] !== undefined) continue;
            const keep = key in previous && !rule.recomputedOnUpdate?.includes(key);
            outputs[key] = keep ? previous[key] : preview ? UNKNOWN : value;
        }
        return outputs;
    }

    create(urn: string, inputs: Props, preview: boolean): { id: string; outputs: Props } {
        const { type, name } = parseUrn(urn);
        const rule = this.rule(type);
        const ctx: CreateContext = { name, inputs: reveal(inputs) as Props, random: this.random() };
        const outputs = this.outputs(rule, ctx, inputs, preview);
        if (preview) {
            this.journal("create", { urn, type, preview, inputs });
            return { id: "", outputs };
        }
        const id = rule.id(ctx);
        const existed = this.options.world.get(type, id) !== undefined;
        this.options.world.put({ type, id, urn, inputs, outputs });
        this.journal("create", { urn, type, id, inputs, existed });
        return { id, outputs };
    }

    /** What the world holds for the resource: for a refresh, and for an import (`props` empty). */
    read(id: string, urn: string): { id?: string; outputs?: Props; inputs?: Props } {
        const { type } = parseUrn(urn);
        const entry = this.options.world.get(type, id);
        this.journal("read", { urn, type, id, found: entry !== undefined });
        return entry ? { id, outputs: entry.outputs, inputs: entry.inputs } : {};
    }

    update(id: string, urn: string, olds: Props, news: Props, preview: boolean): Props {
        const { type, name } = parseUrn(urn);
        const rule = this.rule(type);
        // Computed outputs keep their values across an update (ids, generated secrets).
        const outputs = this.outputs(rule, { name, inputs: reveal(news) as Props, random: this.random() }, news, preview, olds);
        if (!preview) this.options.world.put({ type, id, urn, inputs: news, outputs });
        this.journal("update", { urn, type, id, inputs: news, ...(preview ? { preview } : {}) });
        return outputs;
    }

    delete(id: string, urn: string): void {
        const { type } = parseUrn(urn);
        this.options.world.remove(type, id);
        this.journal("delete", { urn, type, id });
    }

    invoke(token: string, args: Props): Props {
        const fn = INVOKES[token];
        this.journal("invoke", { token, inputs: args });
        if (!fn) throw new Error(`the ${this.options.pkg} stand-in does not answer ${token}: add it to INVOKES in test/engine/stand-in/rules.ts`);
        return fn(reveal(args) as Props);
    }
}
