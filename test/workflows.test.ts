// The CI/CD the users run (.github/workflows, .github/actions): validated with GitHub's
// own parser (@actions/workflow-parser) and checked for the behaviour the runbook
// promises. Job conditions are evaluated with GitHub's expression engine
// (@actions/expressions), not matched as strings, so a condition that reads right but
// evaluates wrong fails here. The shell of run steps that needs no network is run for
// real, with stand-ins for `pulumi`, `curl` and `ssh` on PATH.
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import { register } from "node:module";
import * as os from "node:os";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { needCommand } from "./helpers/tools";
import * as YAML from "yaml";
import type * as WorkflowParser from "@actions/workflow-parser";
import type * as ActionParser from "@actions/workflow-parser/actions/index";
import type * as Expressions from "@actions/expressions";

const repoRoot = path.resolve(__dirname, "..");
const workflowsDir = path.join(repoRoot, ".github", "workflows");
const actionsDir = path.join(repoRoot, ".github", "actions");

/** The current major of pulumi/actions (v7.0.0, May 2026: Node 24 runtime). */
const PULUMI_ACTION = "pulumi/actions@v7";

// ---------------------------------------------------------------------------------------
// Loading GitHub's parser. @actions/workflow-parser and @actions/expressions ship only
// ES modules, and the parser imports its JSON schemas without an import attribute (it is
// built for bundlers), which Node rejects. A load hook adds `type: "json"` for those two
// files only; `new Function` keeps TypeScript's CommonJS output from turning import()
// into require().
// ---------------------------------------------------------------------------------------
const jsonHook = `export async function load(url, context, nextLoad) {
  if (url.endsWith(".json") && url.includes("/@actions/workflow-parser/")) {
    return nextLoad(url, { ...context, importAttributes: { ...context.importAttributes, type: "json" } });
  }
  return nextLoad(url, context);
}`;
register(`data:text/javascript,${encodeURIComponent(jsonHook)}`);
const importEsm = new Function("specifier", "return import(specifier)") as <T>(specifier: string) => Promise<T>;

function moduleUrl(relative: string): string {
  return pathToFileURL(path.join(repoRoot, "node_modules", relative)).href;
}

let workflowParser: typeof WorkflowParser;
let actionParser: typeof ActionParser;
let expressions: typeof Expressions;
let truthy: (d: Expressions.data.ExpressionData) => boolean;

// ---------------------------------------------------------------------------------------
// The shape of the YAML this file reads (only the keys the assertions use).
// ---------------------------------------------------------------------------------------
type Scalar = string | number | boolean;
interface Step {
  name?: string;
  id?: string;
  uses?: string;
  run?: string;
  shell?: string;
  if?: string;
  with?: Record<string, Scalar>;
  env?: Record<string, Scalar>;
}
interface Concurrency {
  group: string;
  "cancel-in-progress"?: boolean;
}
type Permissions = Record<string, string> | string;
interface Job {
  name?: string;
  needs?: string | string[];
  if?: string;
  permissions?: Permissions;
  concurrency?: Concurrency | string;
  environment?: string | { name: string };
  env?: Record<string, Scalar>;
  outputs?: Record<string, string>;
  steps?: Step[];
}
interface Workflow {
  name: string;
  on: Record<string, unknown>;
  permissions?: Permissions;
  concurrency?: Concurrency | string;
  jobs: Record<string, Job>;
}
interface ActionInput {
  description?: string;
  required?: boolean;
  default?: string;
}
interface CompositeAction {
  name?: string;
  description?: string;
  inputs?: Record<string, ActionInput>;
  runs?: { using?: string; steps?: Step[] };
}

function listFiles(dir: string, pattern: RegExp): string[] {
  return fs
    .readdirSync(dir)
    .filter((f) => pattern.test(f))
    .sort()
    .map((f) => path.join(dir, f));
}

const workflowFiles = listFiles(workflowsDir, /\.ya?ml$/);
const actionFiles = fs
  .readdirSync(actionsDir)
  .sort()
  .map((d) => path.join(actionsDir, d, "action.yml"))
  .filter((f) => fs.existsSync(f));

function readWorkflow(file: string): Workflow {
  return YAML.parse(fs.readFileSync(path.join(workflowsDir, file), "utf8")) as Workflow;
}
function readAction(name: string): CompositeAction {
  return YAML.parse(fs.readFileSync(path.join(actionsDir, name, "action.yml"), "utf8")) as CompositeAction;
}
const allWorkflows = (): Array<[string, Workflow]> =>
  workflowFiles.map((f) => [path.basename(f), readWorkflow(path.basename(f))]);
const allJobs = (): Array<[string, string, Job]> =>
  allWorkflows().flatMap(([file, wf]) => Object.entries(wf.jobs).map(([id, job]): [string, string, Job] => [file, id, job]));

/** Every run step, of the workflows and of the composite actions, with where it lives. */
function allRunSteps(): Array<{ where: string; step: Step }> {
  const fromWorkflows = allJobs().flatMap(([file, id, job]) =>
    (job.steps ?? []).filter((s) => s.run !== undefined).map((step) => ({ where: `${file} ${id}`, step })),
  );
  const fromActions = actionFiles.flatMap((file) => {
    const name = path.basename(path.dirname(file));
    return (readAction(name).runs?.steps ?? []).filter((s) => s.run !== undefined).map((step) => ({ where: `action ${name}`, step }));
  });
  return [...fromWorkflows, ...fromActions];
}

function needsOf(job: Job): string[] {
  return job.needs === undefined ? [] : Array.isArray(job.needs) ? job.needs : [job.needs];
}
function concurrencyOf(job: Job): Concurrency | undefined {
  return typeof job.concurrency === "string" ? { group: job.concurrency } : job.concurrency;
}
function environmentOf(job: Job): string | undefined {
  return typeof job.environment === "string" ? job.environment : job.environment?.name;
}
function stepIndex(job: Job, predicate: (s: Step) => boolean, what: string): number {
  const i = (job.steps ?? []).findIndex(predicate);
  assert.notEqual(i, -1, `no step ${what}`);
  return i;
}
function pulumiSteps(job: Job): Step[] {
  return (job.steps ?? []).filter((s) => s.uses?.startsWith("pulumi/actions@") && s.with?.command !== undefined);
}
function isTrue(value: Scalar | undefined): boolean {
  return String(value) === "true";
}

// ---------------------------------------------------------------------------------------
// Validators. They return every error message; an empty list means valid.
// ---------------------------------------------------------------------------------------

/** Parses and converts a workflow with GitHub's parser; returns every schema/conversion error. */
async function validateWorkflow(name: string, content: string): Promise<string[]> {
  const result = workflowParser.parseWorkflow({ name, content }, new workflowParser.NoOperationTraceWriter());
  const errors = result.context.errors.getErrors().map((e) => e.message);
  if (result.value === undefined) {
    return errors.length > 0 ? errors : [`${name}: nothing parsed`];
  }
  // Conversion adds the checks that need the whole workflow (job graph, reusable calls).
  const template = await workflowParser.convertWorkflowTemplate(result.context, result.value);
  const converted = (template.errors ?? []).map((e) => e.Message);
  return [...new Set([...errors, ...result.context.errors.getErrors().map((e) => e.message), ...converted])];
}

/** Validates an action.yml with GitHub's action schema and the keys a composite action needs. */
function validateCompositeAction(name: string, content: string): string[] {
  const result = actionParser.parseAction({ name, content }, new workflowParser.NoOperationTraceWriter());
  const errors = result.context.errors.getErrors().map((e) => e.message);
  let action: CompositeAction | null;
  try {
    action = YAML.parse(content) as CompositeAction | null;
  } catch (e) {
    return [...errors, `${name}: ${(e as Error).message}`];
  }
  if (action === null || typeof action !== "object") return [...errors, `${name}: not a mapping`];
  for (const key of ["name", "description"] as const) {
    if (typeof action[key] !== "string" || action[key] === "") errors.push(`${name}: missing ${key}`);
  }
  if (action.runs?.using !== "composite") errors.push(`${name}: runs.using must be composite`);
  if (!Array.isArray(action.runs?.steps) || action.runs.steps.length === 0) errors.push(`${name}: runs.steps is empty`);
  for (const [i, step] of (action.runs?.steps ?? []).entries()) {
    if (step.run !== undefined && step.shell === undefined) errors.push(`${name}: step ${i} runs without a shell`);
  }
  return [...new Set(errors)];
}

// ---------------------------------------------------------------------------------------
// Expressions, evaluated by GitHub's engine.
// ---------------------------------------------------------------------------------------
type JobStatus = "success" | "failure" | "cancelled";
const statusFunctions = ["always", "success", "failure", "cancelled"];

/** Evaluates `expression` (with or without ${{ }}) against plain-JSON contexts. */
function evaluate(expression: string, contexts: Record<string, unknown>, status: JobStatus = "success"): Expressions.data.ExpressionData {
  const { Lexer, Parser, Evaluator, data } = expressions;
  const source = expression.trim().replace(/^\$\{\{([\s\S]*)\}\}$/, "$1");
  const lexed = new Lexer(source).lex();
  const info = statusFunctions.map((name) => ({ name, minArgs: 0, maxArgs: 0 }));
  const parsed = new Parser(lexed.tokens, Object.keys(contexts), info).parse();
  const functions = new Map(
    info.map((f) => [
      f.name,
      { ...f, call: () => new data.BooleanData(f.name === "always" || f.name === status) },
    ]),
  );
  const context = JSON.parse(JSON.stringify(contexts), data.reviver) as Expressions.data.Dictionary;
  return new Evaluator(parsed, context, functions).evaluate();
}

/** Whether a job runs: GitHub adds `success() &&` to a condition without a status function. */
function jobRuns(job: Job, contexts: Record<string, unknown>, needsStatus: JobStatus = "success"): boolean {
  if (job.if === undefined) return needsStatus === "success";
  const condition = job.if;
  const hasStatusCall = new RegExp(`\\b(${statusFunctions.join("|")})\\(`).test(condition);
  const runs = truthy(evaluate(condition, contexts, needsStatus));
  return hasStatusCall ? runs : needsStatus === "success" && runs;
}

function githubContext(event: string, ref: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { event_name: event, ref, repository: "acme/vps-stacks", event: {}, ...extra };
}
function pullRequestContext(base: string, headRepo: string): Record<string, unknown> {
  return githubContext("pull_request", "refs/pull/7/merge", {
    base_ref: base,
    head_ref: "feature",
    event: { pull_request: { number: 7, head: { repo: { full_name: headRepo } } } },
  });
}

// ---------------------------------------------------------------------------------------
// Running the shell of a run step, as GitHub does (bash -eo pipefail), with stand-ins.
// ---------------------------------------------------------------------------------------
// jq and shellcheck come from Debian (.ci/setup.d/10-debian-packages.sh); GitHub's runners have both.
const JQ = "apt-get install jq (.ci/setup.d/10-debian-packages.sh)";

interface ScriptRun {
  status: number | null;
  output: string;
  githubOutput: string;
  calls: string;
}

/**
 * Runs `script` with bash like a GitHub run step. `stubs` become executables on PATH
 * (name → bash body); each stub appends its argv to $CALLS. GITHUB_OUTPUT is a temp file.
 */
function runScript(script: string, env: Record<string, string>, stubs: Record<string, string>): ScriptRun {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "workflow-step-"));
  try {
    const bin = path.join(dir, "bin");
    fs.mkdirSync(bin);
    for (const [name, body] of Object.entries(stubs)) {
      fs.writeFileSync(path.join(bin, name), `#!/usr/bin/env bash\nprintf '%s\\n' "${name} $*" >> "$CALLS"\n${body}\n`, { mode: 0o755 });
    }
    const githubOutput = path.join(dir, "github-output");
    const calls = path.join(dir, "calls");
    fs.writeFileSync(githubOutput, "");
    fs.writeFileSync(calls, "");
    const result = spawnSync("bash", ["--noprofile", "--norc", "-eo", "pipefail", "-c", script], {
      env: { PATH: `${bin}:${process.env.PATH ?? ""}`, HOME: dir, GITHUB_OUTPUT: githubOutput, CALLS: calls, ...env },
      encoding: "utf8",
      timeout: 20_000,
    });
    return {
      status: result.status,
      output: `${result.stdout}${result.stderr}`,
      githubOutput: fs.readFileSync(githubOutput, "utf8"),
      calls: fs.readFileSync(calls, "utf8"),
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function runOf(step: Step | undefined, what: string): string {
  assert.ok(step?.run !== undefined, `no run step ${what}`);
  return step.run;
}

// =======================================================================================

describe("GitHub Actions workflows", function () {
  this.timeout(30_000);

  before(async () => {
    workflowParser = await importEsm<typeof WorkflowParser>(moduleUrl("@actions/workflow-parser/dist/index.js"));
    actionParser = await importEsm<typeof ActionParser>(moduleUrl("@actions/workflow-parser/dist/actions/index.js"));
    expressions = await importEsm<typeof Expressions>(moduleUrl("@actions/expressions/dist/index.js"));
    truthy = (await importEsm<{ truthy: typeof truthy }>(moduleUrl("@actions/expressions/dist/result.js"))).truthy;
  });

  describe("schema validation", () => {
    it("finds the five workflows and the shared composite actions", () => {
      assert.deepEqual(
        workflowFiles.map((f) => path.basename(f)),
        ["deploy-host.yml", "deploy-production.yml", "deploy-staging.yml", "drift.yml", "pull-request.yml"],
      );
      assert.deepEqual(
        actionFiles.map((f) => path.basename(path.dirname(f))),
        ["notify", "setup", "smoke-check", "ssh-agent"],
      );
    });

    for (const file of workflowFiles) {
      const name = path.basename(file);
      it(`${name} validates against GitHub's workflow schema`, async () => {
        const errors = await validateWorkflow(name, fs.readFileSync(file, "utf8"));
        assert.deepEqual(errors, []);
      });
    }

    for (const file of actionFiles) {
      const name = path.basename(path.dirname(file));
      it(`the ${name} composite action validates against GitHub's action schema and has name, description and steps`, () => {
        assert.deepEqual(validateCompositeAction(`${name}/action.yml`, fs.readFileSync(file, "utf8")), []);
      });
    }

    it("the workflow validator reports a misspelled key, a step with both uses and run, and an unknown context", async () => {
      const broken = [
        "on: push",
        "jobs:",
        "  build:",
        "    runs-on: ubuntu-latest",
        "    permisions: {}",
        "    steps:",
        "      - uses: actions/checkout@v6",
        "        run: echo twice",
        "      - run: echo ${{ secret.TOKEN }}",
        "",
      ].join("\n");
      const errors = await validateWorkflow("broken.yml", broken);
      assert.ok(errors.some((e) => e.includes("Unexpected value 'permisions'")), errors.join("\n"));
      assert.ok(errors.some((e) => e.includes("Unexpected value 'run'")), errors.join("\n"));
      assert.ok(errors.some((e) => e.includes("Unrecognized named-value: 'secret'")), errors.join("\n"));
    });

    it("the workflow validator reports a job graph without a job to start from", async () => {
      const cyclic = ["on: push", "jobs:", "  a:", "    runs-on: ubuntu-latest", "    needs: a", "    steps:", "      - run: echo a", ""].join("\n");
      const errors = await validateWorkflow("cyclic.yml", cyclic);
      assert.ok(errors.some((e) => e.includes("at least one job with no dependencies")), errors.join("\n"));
    });

    it("the action validator reports a run step without a shell and a missing description", () => {
      const broken = ["name: broken", "runs:", "  using: composite", "  steps:", "    - run: echo hi", ""].join("\n");
      const errors = validateCompositeAction("broken/action.yml", broken);
      assert.ok(errors.some((e) => e.includes("Required property is missing: shell")), errors.join("\n"));
      assert.ok(errors.some((e) => e.includes("description")), errors.join("\n"));
    });

    it("every local action a workflow uses exists and receives only inputs it declares, required ones included", () => {
      const problems: string[] = [];
      const localUses = [
        ...allJobs().flatMap(([file, id, job]) => (job.steps ?? []).map((step) => ({ where: `${file} ${id}`, step }))),
        ...actionFiles.flatMap((f) =>
          (readAction(path.basename(path.dirname(f))).runs?.steps ?? []).map((step) => ({ where: f, step })),
        ),
      ].filter(({ step }) => step.uses?.startsWith("./"));
      assert.ok(localUses.length > 0);
      for (const { where, step } of localUses) {
        const dir = path.join(repoRoot, step.uses ?? "");
        if (!fs.existsSync(path.join(dir, "action.yml"))) {
          problems.push(`${where}: ${step.uses} has no action.yml`);
          continue;
        }
        const inputs = readAction(path.basename(dir)).inputs ?? {};
        for (const key of Object.keys(step.with ?? {})) {
          if (!(key in inputs)) problems.push(`${where}: ${step.uses} has no input ${key}`);
        }
        for (const [key, input] of Object.entries(inputs)) {
          if (input.required === true && !(key in (step.with ?? {}))) problems.push(`${where}: ${step.uses} needs input ${key}`);
        }
      }
      assert.deepEqual(problems, []);
    });
  });

  describe("pull request workflow", () => {
    const wf = () => readWorkflow("pull-request.yml");

    it("runs on pull requests to develop and master only", () => {
      assert.deepEqual(Object.keys(wf().on), ["pull_request"]);
      assert.deepEqual(wf().on.pull_request, { branches: ["develop", "master"] });
    });

    it("installs, lints, type-checks, tests and synths the host stack and both environments, in that order, without secrets", () => {
      const checks = wf().jobs.checks;
      const order = [
        stepIndex(checks, (s) => s.uses === "./.github/actions/setup", "running npm ci (setup action)"),
        stepIndex(checks, (s) => s.run === "npm run lint", "npm run lint"),
        stepIndex(checks, (s) => s.run === "npm run build", "npm run build"),
        stepIndex(checks, (s) => s.run === "npm test", "npm test"),
        stepIndex(checks, (s) => s.run === "npm run synth -- --stack vps1 --out synth-vps1.json", "synth vps1"),
        stepIndex(checks, (s) => s.run === "npm run synth -- --stack staging --out synth-staging.json", "synth staging"),
        stepIndex(checks, (s) => s.run === "npm run synth -- --stack production --out synth-production.json", "synth production"),
      ];
      assert.deepEqual(order, [...order].sort((a, b) => a - b));
      assert.doesNotMatch(JSON.stringify(checks), /secrets\./);
    });

    it("the setup action installs the locked dependencies with npm ci", () => {
      assert.ok((readAction("setup").runs?.steps ?? []).some((s) => s.run === "npm ci"));
    });

    it("previews only after the job that runs the synth with the policy pack has passed", () => {
      const jobs = wf().jobs;
      const synthJobs = Object.entries(jobs)
        .filter(([, job]) => (job.steps ?? []).some((s) => s.run?.startsWith("npm run synth")))
        .map(([id]) => id);
      assert.deepEqual(synthJobs, ["checks"]);
      assert.ok(needsOf(jobs.preview).includes("checks"));
      assert.equal(jobRuns(jobs.preview, { github: pullRequestContext("develop", "acme/vps-stacks"), needs: { "secrets-available": { outputs: { present: "true" } } } }, "failure"), false);
    });

    it("previews staging for a pull request to develop and production for one to master", () => {
      const preview = wf().jobs.preview;
      const step = pulumiSteps(preview)[0];
      assert.equal(step.with?.command, "preview");
      assert.equal(step.with?.["stack-name"], "${{ env.STACK }}");
      const stackOf = (base: string): string =>
        evaluate(String(preview.env?.STACK), { github: pullRequestContext(base, "acme/vps-stacks") }).coerceString();
      assert.equal(stackOf("develop"), "staging");
      assert.equal(stackOf("master"), "production");
    });

    it("passes the policy pack to the preview", () => {
      const [step] = pulumiSteps(wf().jobs.preview);
      assert.equal(step.with?.policyPacks, "policies");
      assert.ok(fs.existsSync(path.join(repoRoot, "package.json")));
    });

    it("posts the preview as one pull-request comment that is edited on each push", () => {
      const [step] = pulumiSteps(wf().jobs.preview);
      assert.ok(step.uses === PULUMI_ACTION);
      assert.ok(isTrue(step.with?.["comment-on-pr"]));
      assert.ok(isTrue(step.with?.["edit-pr-comment"]));
    });

    it("skips the preview for a pull request from a fork", () => {
      const preview = wf().jobs.preview;
      const needs = { "secrets-available": { outputs: { present: "true" } } };
      assert.equal(jobRuns(preview, { github: pullRequestContext("develop", "stranger/vps-stacks"), needs }), false);
      assert.equal(jobRuns(preview, { github: pullRequestContext("develop", "acme/vps-stacks"), needs }), true);
    });

    it("skips the preview when the deploy secrets are absent", () => {
      const jobs = wf().jobs;
      const present = (env: Record<string, string>): string => {
        const run = runScript(runOf(jobs["secrets-available"].steps?.[0], "detecting secrets"), env, {});
        assert.equal(run.status, 0, run.output);
        return run.githubOutput.trim();
      };
      assert.equal(present({ HAS_BACKEND: "true", HAS_PASSPHRASE: "false" }), "present=false");
      assert.equal(present({ HAS_BACKEND: "true", HAS_PASSPHRASE: "true" }), "present=true");
      const github = pullRequestContext("master", "acme/vps-stacks");
      assert.equal(jobRuns(jobs.preview, { github, needs: { "secrets-available": { outputs: { present: "false" } } } }), false);
      assert.ok(needsOf(jobs.preview).includes("secrets-available"));
    });

    it("keeps previews out of the stack concurrency groups so that they never displace a queued deploy", () => {
      const workflow = wf();
      const groups = [concurrencyOf(workflow as Job)?.group, ...Object.values(workflow.jobs).map((j) => concurrencyOf(j)?.group)];
      assert.ok(groups.every((g) => g === undefined || !g.startsWith("pulumi-stack-")), groups.join(", "));
    });
  });

  describe("deploy staging workflow", () => {
    const wf = () => readWorkflow("deploy-staging.yml");

    it("runs on pushes to develop only", () => {
      assert.deepEqual(wf().on, { push: { branches: ["develop"] } });
    });

    it("runs pulumi up on staging with the policy pack, then smoke-checks staging", () => {
      const deploy = wf().jobs.deploy;
      const up = stepIndex(deploy, (s) => s.uses === PULUMI_ACTION && s.with?.command === "up", "pulumi up");
      const smoke = stepIndex(deploy, (s) => s.uses === "./.github/actions/smoke-check", "smoke check");
      assert.equal(deploy.steps?.[up].with?.["stack-name"], "staging");
      assert.equal(deploy.steps?.[up].with?.policyPacks, "policies");
      assert.equal(deploy.steps?.[smoke].with?.stack, "staging");
      assert.ok(up < smoke);
    });

    it("alerts the webhook from the secret when any step fails", () => {
      const deploy = wf().jobs.deploy;
      const i = stepIndex(deploy, (s) => s.uses === "./.github/actions/notify", "notify");
      const step = deploy.steps?.[i];
      assert.equal(step?.if, "failure()");
      assert.equal(step?.with?.level, "failure");
      assert.equal(step?.with?.["webhook-url"], "${{ secrets.ALERT_WEBHOOK_URL }}");
      assert.equal(i, (deploy.steps ?? []).length - 1, "the alert is the last step, so it sees every failure");
    });
  });

  describe("deploy production workflow", () => {
    const wf = () => readWorkflow("deploy-production.yml");

    it("runs on pushes to master only", () => {
      assert.deepEqual(wf().on, { push: { branches: ["master"] } });
    });

    it("updates production in the production environment, so approvals can be required", () => {
      assert.equal(environmentOf(wf().jobs.deploy), "production");
    });

    it("runs pulumi up on production with the policy pack, then smoke-checks production", () => {
      const deploy = wf().jobs.deploy;
      const up = stepIndex(deploy, (s) => s.uses === PULUMI_ACTION && s.with?.command === "up", "pulumi up");
      const smoke = stepIndex(deploy, (s) => s.uses === "./.github/actions/smoke-check", "smoke check");
      assert.equal(deploy.steps?.[up].with?.["stack-name"], "production");
      assert.equal(deploy.steps?.[up].with?.policyPacks, "policies");
      assert.equal(deploy.steps?.[smoke].with?.stack, "production");
      assert.ok(up < smoke);
    });

    it("destroys staging in a job that needs the production deploy", () => {
      const destroy = wf().jobs["destroy-staging"];
      assert.deepEqual(needsOf(destroy), ["deploy"]);
      const steps = pulumiSteps(destroy);
      assert.deepEqual(steps.map((s) => [s.with?.command, s.with?.["stack-name"]]), [["destroy", "staging"]]);
      assert.ok(!isTrue(steps[0].with?.remove), "the staging stack itself is kept, so it can come back with pulumi up");
    });

    it("destroys staging only after a production deploy that succeeded on a push to master", () => {
      const destroy = wf().jobs["destroy-staging"];
      assert.equal(jobRuns(destroy, { github: githubContext("push", "refs/heads/master") }), true);
      assert.equal(jobRuns(destroy, { github: githubContext("push", "refs/heads/master") }, "failure"), false);
      assert.equal(jobRuns(destroy, { github: githubContext("push", "refs/heads/develop") }), false);
      assert.equal(jobRuns(destroy, { github: githubContext("workflow_dispatch", "refs/heads/master") }), false);
    });

    it("reads staging's dataVolumeNames before the destroy and hands them to the volume check", () => {
      const { jobs } = wf();
      const destroy = jobs["destroy-staging"];
      const read = stepIndex(destroy, (s) => s.run?.includes("pulumi stack output") === true, "reading stack outputs");
      const destroyStep = stepIndex(destroy, (s) => s.with?.command === "destroy", "pulumi destroy");
      assert.ok(read < destroyStep);
      const id = destroy.steps?.[read].id;
      assert.equal(destroy.outputs?.["volume-names"], `\${{ steps.${id}.outputs.names }}`);
      const verify = jobs["verify-staging-volumes"];
      assert.deepEqual(needsOf(verify), ["destroy-staging"]);
      assert.ok(JSON.stringify(verify.steps).includes("needs.destroy-staging.outputs.volume-names"));
    });

    it("records the volume names, an empty list for an already empty staging, and fails on a malformed output", function () {
      needCommand(this, "jq", JQ);
      const script = runOf(wf().jobs["destroy-staging"].steps?.find((s) => s.id === "volumes"), "recording volumes");
      const withOutputs = (json: string): ScriptRun =>
        runScript(script, {}, { pulumi: `cat <<'JSON'\n${json}\nJSON` });
      const names = withOutputs('{"urls":["https://s.example"],"dataVolumeNames":["shop-staging-postgres-data","shop-staging-redis-data"]}');
      assert.equal(names.status, 0, names.output);
      assert.equal(names.githubOutput.trim(), 'names=["shop-staging-postgres-data","shop-staging-redis-data"]');
      assert.match(names.calls, /^pulumi stack output --json --stack staging$/m);
      const empty = withOutputs("{}");
      assert.equal(empty.status, 0, empty.output);
      assert.equal(empty.githubOutput.trim(), "names=[]");
      assert.notEqual(withOutputs('{"urls":["https://s.example"]}').status, 0);
      assert.notEqual(withOutputs('{"dataVolumeNames":["x; rm -rf /"]}').status, 0);
    });

    it("checks each retained volume with docker volume inspect over SSH, also after a failed destroy", () => {
      const verify = wf().jobs["verify-staging-volumes"];
      const needs = (names: string) => ({ "destroy-staging": { outputs: { "volume-names": names } } });
      const github = githubContext("push", "refs/heads/master");
      assert.equal(jobRuns(verify, { github, needs: needs('["a"]') }, "failure"), true);
      assert.equal(jobRuns(verify, { github, needs: needs("[]") }), false);
      assert.equal(jobRuns(verify, { github, needs: needs("") }), false);
      const ssh = stepIndex(verify, (s) => s.uses === "./.github/actions/ssh-agent", "SSH agent");
      const check = stepIndex(verify, (s) => s.run?.includes("docker volume inspect") === true, "docker volume inspect");
      assert.ok(ssh < check);
    });

    it("the volume check fails and names the volume that is gone", function () {
      needCommand(this, "jq", JQ);
      const verify = wf().jobs["verify-staging-volumes"];
      const script = runOf(verify.steps?.find((s) => s.run?.includes("docker volume inspect")), "checking volumes");
      const env = { VOLUME_NAMES: '["shop-staging-postgres-data","shop-staging-redis-data"]', VPS_SSH_HOST: "vps.example", VPS_SSH_USER: "deploy", VPS_SSH_PORT: "2222" };
      const present = runScript(script, env, { ssh: "exit 0" });
      assert.equal(present.status, 0, present.output);
      assert.match(present.calls, /^ssh -p 2222 deploy@vps\.example docker volume inspect shop-staging-postgres-data$/m);
      assert.match(present.calls, /^ssh -p 2222 deploy@vps\.example docker volume inspect shop-staging-redis-data$/m);
      const gone = runScript(script, env, { ssh: '[[ "$*" != *redis-data* ]]' });
      assert.notEqual(gone.status, 0);
      assert.match(gone.output, /shop-staging-redis-data is missing/);
    });

    it("notifies on success and on failure once every job has finished", () => {
      const notify = wf().jobs.notify;
      assert.deepEqual(needsOf(notify).sort(), ["deploy", "destroy-staging", "verify-staging-volumes"]);
      assert.equal(jobRuns(notify, { github: githubContext("push", "refs/heads/master") }, "failure"), true);
      assert.equal(jobRuns(notify, { github: githubContext("push", "refs/heads/master") }, "success"), true);
      const summarise = runOf(notify.steps?.find((s) => s.id === "result"), "summarising");
      const level = (deploy: string, destroy: string, verify: string): string => {
        const run = runScript(summarise, { DEPLOY: deploy, DESTROY: destroy, VERIFY: verify }, {});
        assert.equal(run.status, 0, run.output);
        return /^level=(.*)$/m.exec(run.githubOutput)?.[1] ?? "";
      };
      assert.equal(level("success", "success", "success"), "ok");
      assert.equal(level("success", "success", "skipped"), "ok");
      assert.equal(level("failure", "skipped", "skipped"), "failure");
      assert.equal(level("success", "failure", "success"), "failure");
      assert.equal(level("success", "success", "failure"), "failure");
      const post = notify.steps?.find((s) => s.uses === "./.github/actions/notify");
      assert.equal(post?.with?.level, "${{ steps.result.outputs.level }}");
    });
  });

  describe("drift workflow", () => {
    const wf = () => readWorkflow("drift.yml");

    it("runs daily and on demand", () => {
      assert.deepEqual(Object.keys(wf().on).sort(), ["schedule", "workflow_dispatch"]);
      const [{ cron }] = wf().on.schedule as Array<{ cron: string }>;
      const [minute, hour, dayOfMonth, month, dayOfWeek] = cron.split(/\s+/);
      assert.match(`${minute} ${hour}`, /^\d+ \d+$/, "once a day at a fixed time");
      assert.deepEqual([dayOfMonth, month, dayOfWeek], ["*", "*", "*"]);
    });

    it("previews production with refresh and expect-no-changes, from master", () => {
      const drift = wf().jobs.drift;
      const [step] = pulumiSteps(drift);
      assert.equal(step.with?.command, "preview");
      assert.equal(step.with?.["stack-name"], "production");
      assert.ok(isTrue(step.with?.refresh));
      assert.ok(isTrue(step.with?.["expect-no-changes"]));
      const checkout = drift.steps?.find((s) => s.uses?.startsWith("actions/checkout@"));
      assert.equal(checkout?.with?.ref, "master");
    });

    it("alerts the webhook when production drifted", () => {
      const drift = wf().jobs.drift;
      const alert = drift.steps?.find((s) => s.uses === "./.github/actions/notify");
      assert.equal(alert?.if, "failure()");
      assert.equal(alert?.with?.["webhook-url"], "${{ secrets.ALERT_WEBHOOK_URL }}");
    });
  });

  describe("host stack workflow", () => {
    const wf = () => readWorkflow("deploy-host.yml");
    /**
     * The files the host stack's program and its policy pack read: the modules compose/host.ts,
     * config/stack.ts, program/stack-config.ts and policies/pack.ts import, transitively (the
     * code it shares with the environments: service.ts, naming.ts, ...), its entry point, its
     * stack files and the scripts its jobs install.
     */
    const hostFiles = (): string[] => {
      const seen = new Set<string>();
      const queue = ["compose/host.ts", "config/stack.ts", "program/stack-config.ts", "policies/pack.ts"];
      while (queue.length > 0) {
        const file = queue.pop()!;
        if (seen.has(file)) continue;
        seen.add(file);
        for (const [, spec] of fs.readFileSync(path.join(repoRoot, file), "utf8").matchAll(/from\s+"(\.[^"]+)"/g)) {
          const base = path.posix.normalize(path.posix.join(path.posix.dirname(file), spec));
          const found = [`${base}.ts`, `${base}/index.ts`].find((f) => fs.existsSync(path.join(repoRoot, f)));
          if (found) queue.push(found);
        }
      }
      const scripts = ["image-prune.sh", "disk-usage.sh", "edge-check.sh", "job.sh", "notify.sh"].map((f) => `components/scripts/${f}`);
      return [...seen, "program/index.ts", "Pulumi.yaml", "Pulumi.vps1.yaml", "package-lock.json", ...scripts].sort();
    };

    it("runs by hand, and on pull requests and pushes to master that change any file the host stack reads", () => {
      const on = wf().on as Record<string, { branches?: string[]; paths?: string[] } | null>;
      assert.deepEqual(Object.keys(on).sort(), ["pull_request", "push", "workflow_dispatch"]);
      assert.deepEqual(on.push?.branches, ["master"]);
      const files = hostFiles();
      assert.ok(files.includes("components/docker/service.ts") && files.includes("components/services/reverse-proxy.ts"), files.join(" "));
      for (const trigger of ["pull_request", "push"]) {
        const patterns = on[trigger]?.paths ?? [];
        for (const file of files) assert.ok(patterns.some((p) => path.posix.matchesGlob(file, p)), `${trigger} on ${file}`);
        for (const p of patterns) {
          const dir = path.join(repoRoot, p.replace(/\/\*\*$/, ""));
          assert.ok(fs.existsSync(dir), `${trigger} names ${p}, which matches nothing`);
        }
      }
    });

    it("synths and previews vps1 with the policy pack on a pull request, changing nothing", () => {
      const preview = wf().jobs.preview;
      assert.match(String(preview.if), /github\.event_name == 'pull_request'/);
      const synth = stepIndex(preview, (s) => s.run === "npm run synth -- --stack vps1 --out synth-vps1.json", "synth vps1");
      const step = stepIndex(preview, (s) => s.uses === PULUMI_ACTION, "pulumi preview");
      assert.ok(synth < step);
      assert.deepEqual([preview.steps?.[step].with?.command, preview.steps?.[step].with?.["stack-name"], preview.steps?.[step].with?.policyPacks], ["preview", "vps1", "policies"]);
    });

    it("brings vps1 up with the policy pack only from master, in the production environment, and never destroys it", () => {
      const up = wf().jobs.up;
      assert.match(String(up.if), /github\.event_name != 'pull_request' && github\.ref == 'refs\/heads\/master'/);
      assert.equal(environmentOf(up), "production");
      const [step] = pulumiSteps(up);
      assert.deepEqual([step.with?.command, step.with?.["stack-name"], step.with?.policyPacks], ["up", "vps1", "policies"]);
      assert.doesNotMatch(fs.readFileSync(path.join(repoRoot, ".github", "workflows", "deploy-host.yml"), "utf8"), /command: destroy/);
      const alert = up.steps?.find((s) => s.uses === "./.github/actions/notify");
      assert.equal(alert?.if, "failure()");
    });
  });

  describe("every workflow", () => {
    it("holds a stack's concurrency group, never cancelling, in every job that changes or refreshes that stack", () => {
      const checked: string[] = [];
      for (const [file, id, job] of allJobs()) {
        for (const step of pulumiSteps(job)) {
          const changes = step.with?.command === "up" || step.with?.command === "destroy" || isTrue(step.with?.refresh);
          if (!changes) continue;
          const where = `${file} ${id}`;
          assert.deepEqual(concurrencyOf(job), { group: `pulumi-stack-${step.with?.["stack-name"]}`, "cancel-in-progress": false }, where);
          checked.push(`${where}: ${step.with?.command} ${step.with?.["stack-name"]}`);
        }
      }
      assert.deepEqual(checked.sort(), [
        "deploy-host.yml up: up vps1",
        "deploy-production.yml deploy: up production",
        "deploy-production.yml destroy-staging: destroy staging",
        "deploy-staging.yml deploy: up staging",
        "drift.yml drift: preview production",
      ]);
    });

    it("grants nothing at the top level and declares permissions on every job", () => {
      for (const [file, wf] of allWorkflows()) {
        const top = wf.permissions;
        assert.ok(
          top !== undefined && typeof top === "object" && (Object.keys(top).length === 0 || JSON.stringify(top) === '{"contents":"read"}'),
          `${file}: top-level permissions ${JSON.stringify(top)}`,
        );
        for (const [id, job] of Object.entries(wf.jobs)) {
          assert.equal(typeof job.permissions, "object", `${file} ${id} declares no permissions`);
        }
      }
    });

    it("grants pull-requests: write only to jobs that comment on the pull request", () => {
      for (const [file, id, job] of allJobs()) {
        const comments = (job.steps ?? []).some((s) => isTrue(s.with?.["comment-on-pr"]));
        const perms = job.permissions as Record<string, string>;
        assert.equal(perms["pull-requests"] === "write", comments, `${file} ${id}`);
      }
    });

    it("grants id-token: write only to jobs that assume the AWS role through OIDC", () => {
      for (const [file, id, job] of allJobs()) {
        const oidc = (job.steps ?? []).some((s) => s.uses?.startsWith("aws-actions/configure-aws-credentials@"));
        const perms = job.permissions as Record<string, string>;
        assert.equal(perms["id-token"] === "write", oidc, `${file} ${id}`);
      }
    });

    it("grants no write scope other than pull-requests and id-token, and contents only read", () => {
      for (const [file, id, job] of allJobs()) {
        for (const [scope, level] of Object.entries(job.permissions as Record<string, string>)) {
          const allowed = scope === "contents" ? level === "read" : ["pull-requests", "id-token"].includes(scope);
          assert.ok(allowed, `${file} ${id}: ${scope}: ${level}`);
        }
      }
    });

    it("takes AWS credentials only from the OIDC role in vars.AWS_ROLE_ARN, never from access keys", () => {
      const awsSteps = allJobs().flatMap(([, , job]) => (job.steps ?? []).filter((s) => s.uses?.startsWith("aws-actions/configure-aws-credentials@")));
      assert.ok(awsSteps.length >= 4);
      for (const step of awsSteps) {
        assert.equal(step.with?.["role-to-assume"], "${{ vars.AWS_ROLE_ARN }}");
        assert.ok(!("aws-access-key-id" in (step.with ?? {})));
      }
      assert.doesNotMatch(workflowFiles.map((f) => fs.readFileSync(f, "utf8")).join("\n"), /AWS_SECRET_ACCESS_KEY/);
    });

    it("gives every job that runs pulumi the state backend, passphrase and Cloudflare token from secrets, and an SSH agent first", () => {
      for (const [file, id, job] of allJobs()) {
        if (pulumiSteps(job).length === 0) continue;
        const where = `${file} ${id}`;
        assert.equal(job.env?.PULUMI_BACKEND_URL, "${{ secrets.PULUMI_BACKEND_URL }}", where);
        assert.equal(job.env?.PULUMI_CONFIG_PASSPHRASE, "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}", where);
        assert.equal(job.env?.CLOUDFLARE_API_TOKEN, "${{ secrets.CLOUDFLARE_API_TOKEN }}", where);
        const agent = stepIndex(job, (s) => s.uses === "./.github/actions/ssh-agent", `SSH agent in ${where}`);
        const firstPulumi = stepIndex(job, (s) => s.uses?.startsWith("pulumi/actions@") === true && s.with?.command !== undefined, "pulumi");
        assert.ok(agent < firstPulumi, where);
        assert.equal(job.steps?.[agent].with?.["private-key"], "${{ secrets.VPS_SSH_PRIVATE_KEY }}", where);
        assert.equal(job.steps?.[agent].with?.["known-hosts"], "${{ secrets.VPS_SSH_KNOWN_HOSTS }}", where);
      }
    });

    it("never puts a secret expression, set -x or a cat of a key into a run step", () => {
      const steps = allRunSteps();
      assert.ok(steps.length > 5);
      for (const { where, step } of steps) {
        const run = step.run ?? "";
        assert.doesNotMatch(run, /\$\{\{\s*secrets\./, where);
        assert.doesNotMatch(run, /\bset\s+(-[a-wyz]*x|-o\s+xtrace)|\bbash\s+-[a-z]*x/, where);
        assert.doesNotMatch(run, /\bcat\b[^\n|;]*(key|id_rsa|id_ed25519|SSH_PRIVATE)/i, where);
        assert.doesNotMatch(run, /\becho\b[^\n]*\$\{?(SSH_PRIVATE_KEY|ALERT_WEBHOOK_URL|PULUMI_CONFIG_PASSPHRASE|PULUMI_ACCESS_TOKEN)/, where);
      }
    });

    it("passes every expression to run steps through env, never inline into the script", () => {
      for (const { where, step } of allRunSteps()) {
        assert.doesNotMatch(step.run ?? "", /\$\{\{/, `${where}: ${step.name ?? step.run}`);
      }
    });

    it("the checker for secrets in run steps catches an echoed secret and set -x", () => {
      const bad = [`echo "\${{ secrets.VPS_SSH_PRIVATE_KEY }}"`, "set -x\npulumi up", "set -eux", "cat ~/.ssh/id_ed25519"];
      for (const run of bad) {
        const caught =
          /\$\{\{\s*secrets\./.test(run) ||
          /\bset\s+(-[a-wyz]*x|-o\s+xtrace)|\bbash\s+-[a-z]*x/.test(run) ||
          /\bcat\b[^\n|;]*(key|id_rsa|id_ed25519|SSH_PRIVATE)/i.test(run);
        assert.ok(caught, run);
      }
    });

    it("uses the current major of the Pulumi action and pins every remote action to a release tag", () => {
      const uses = [
        ...allJobs().flatMap(([, , job]) => (job.steps ?? []).map((s) => s.uses)),
        ...actionFiles.flatMap((f) => (readAction(path.basename(path.dirname(f))).runs?.steps ?? []).map((s) => s.uses)),
      ].filter((u): u is string => u !== undefined && !u.startsWith("./"));
      for (const u of uses) {
        assert.match(u, /^[\w.-]+\/[\w.-]+@(v\d+(\.\d+){0,2}|[0-9a-f]{40})$/, u);
        if (u.startsWith("pulumi/actions@")) assert.equal(u, PULUMI_ACTION);
      }
      assert.ok(uses.includes(PULUMI_ACTION));
    });

    it("sends alerts through components/scripts/notify.sh, which exists", () => {
      const [step] = readAction("notify").runs?.steps ?? [];
      assert.match(step.run ?? "", /components\/scripts\/notify\.sh/);
      assert.ok(fs.existsSync(path.join(repoRoot, "components", "scripts", "notify.sh")));
      assert.equal(step.env?.ALERT_WEBHOOK_URL, "${{ inputs.webhook-url }}");
    });
  });

  describe("composite actions", () => {
    it("the setup action installs the Node.js major package.json's engines.node requires", () => {
      const engines = JSON.parse(fs.readFileSync(path.join(repoRoot, "package.json"), "utf8")).engines.node as string;
      const required = Number(/>=\s*(\d+)/.exec(engines)?.[1]);
      const input = readAction("setup").inputs?.["node-version"] as { default?: string } | undefined;
      assert.equal(Number(input?.default), required, `setup installs Node.js ${input?.default}, package.json requires ${engines}`);
    });

    it("the smoke check requests every https URL of the stack output urls with curl --retry", function () {
      needCommand(this, "jq", JQ);
      const script = runOf(readAction("smoke-check").runs?.steps?.[0], "smoke check");
      const urls = '["https://shop.example","https://api.shop.example"]';
      const run = runScript(script, { STACK: "staging", RETRIES: "10", RETRY_DELAY: "6" }, { pulumi: `echo '${urls}'`, curl: "exit 0" });
      assert.equal(run.status, 0, run.output);
      assert.match(run.calls, /^pulumi stack output urls --json --stack staging$/m);
      const curls = run.calls.split("\n").filter((l) => l.startsWith("curl "));
      assert.equal(curls.length, 2);
      assert.ok(curls.every((c) => c.includes("--fail") && c.includes("--retry 10")));
      assert.ok(curls[0].endsWith("https://shop.example") && curls[1].endsWith("https://api.shop.example"));
    });

    it("the smoke check fails when a URL never answers", function () {
      needCommand(this, "jq", JQ);
      const script = runOf(readAction("smoke-check").runs?.steps?.[0], "smoke check");
      const run = runScript(script, { STACK: "staging", RETRIES: "0", RETRY_DELAY: "1" }, { pulumi: `echo '["https://a.example","https://b.example"]'`, curl: '[[ "$*" != *b.example* ]]' });
      assert.notEqual(run.status, 0);
    });

    it("the smoke check rejects a urls output that is empty, not an array or not https", function () {
      needCommand(this, "jq", JQ);
      const script = runOf(readAction("smoke-check").runs?.steps?.[0], "smoke check");
      for (const urls of ["[]", '"https://a.example"', '["http://a.example"]']) {
        const run = runScript(script, { STACK: "staging", RETRIES: "0", RETRY_DELAY: "1" }, { pulumi: `echo '${urls}'`, curl: "exit 0" });
        assert.notEqual(run.status, 0, urls);
        assert.equal(run.calls.split("\n").filter((l) => l.startsWith("curl ")).length, 0, urls);
      }
    });

    it("the SSH agent refuses to start without pinned host keys and never writes the key to disk", function () {
      const script = runOf(readAction("ssh-agent").runs?.steps?.[0], "ssh-agent");
      const unpinned = runScript(script, { SSH_PRIVATE_KEY: "KEY", SSH_KNOWN_HOSTS: "", RUNNER_TEMP: os.tmpdir(), GITHUB_ENV: "/dev/null" }, { "ssh-agent": "exit 0", "ssh-add": "cat > /dev/null" });
      assert.notEqual(unpinned.status, 0);
      assert.match(unpinned.output, /VPS_SSH_KNOWN_HOSTS is empty/);
      assert.doesNotMatch(unpinned.calls, /ssh-add/);
      const pinned = runScript(
        `${script}\nif grep -rl 'PRIVATE-KEY-MATERIAL' "$HOME" > /dev/null; then echo "key on disk"; exit 9; fi`,
        { SSH_PRIVATE_KEY: "PRIVATE-KEY-MATERIAL", EXPECTED_KEY: "PRIVATE-KEY-MATERIAL", SSH_KNOWN_HOSTS: "vps.example ssh-ed25519 AAAA", RUNNER_TEMP: os.tmpdir(), GITHUB_ENV: "/dev/null" },
        { "ssh-agent": "exit 0", "ssh-add": '[ "$(cat)" = "$EXPECTED_KEY" ]' },
      );
      assert.equal(pinned.status, 0, pinned.output);
      assert.match(pinned.calls, /^ssh-add -$/m);
      assert.doesNotMatch(pinned.output, /PRIVATE-KEY-MATERIAL/);
    });

    it("every run block passes shellcheck", function () {
      needCommand(this, "shellcheck", "apt-get install shellcheck (.ci/setup.d/10-debian-packages.sh)");
      const problems: string[] = [];
      for (const { where, step } of allRunSteps()) {
        const result = spawnSync("shellcheck", ["--shell=bash", "--severity=style", "-"], { input: step.run, encoding: "utf8" });
        if (result.status !== 0) problems.push(`${where} (${step.name ?? step.id ?? "run"}):\n${result.stdout}`);
      }
      assert.deepEqual(problems, []);
    });
  });
});
