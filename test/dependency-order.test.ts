import { strict as assert } from "assert";
import { dependencyOrder } from "../config/dependency-order";

describe("dependency order: the one search over services.<name>.dependsOn", () => {
    it("puts every name after the names it depends on, visiting names in sorted order", () => {
        assert.deepEqual(dependencyOrder({ web: ["api"], api: ["postgres"], worker: [] }).order, ["api", "web", "worker"]);
    });

    it("leaves out dependencies that are not names of the graph (postgres, redis)", () => {
        assert.deepEqual(dependencyOrder({ api: ["postgres", "redis"] }), { order: ["api"] });
    });

    it("returns the first cycle as the path that closes it", () => {
        assert.deepEqual(dependencyOrder({ a: ["b"], b: ["c"], c: ["b"] }).cycle, ["b", "c", "b"]);
        assert.deepEqual(dependencyOrder({ a: ["a"] }).cycle, ["a", "a"]);
    });
});
