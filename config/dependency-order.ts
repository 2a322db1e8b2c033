/**
 * One depth-first search over `services.<name>.dependsOn`, for both of its uses: the config's
 * cycle check (services.ts) and the order compose/ creates the services in.
 */

/**
 * Orders the names of a dependency graph so that each comes after the names it depends on,
 * visiting names in sorted order; a dependency that is not a name of the graph (postgres,
 * redis) is left out. Stops at the first cycle.
 *
 * @returns `order`, and `cycle` when there is one: the path that closes it, e.g.
 *   ["a", "b", "a"] (then `order` holds only what came before it)
 */
export function dependencyOrder(graph: Readonly<Record<string, readonly string[]>>): { order: string[]; cycle?: string[] } {
    const order: string[] = [];
    const state = new Map<string, "visiting" | "done">();
    const visit = (name: string, chain: string[]): string[] | undefined => {
        if (state.get(name) === "done" || !Object.prototype.hasOwnProperty.call(graph, name)) return undefined;
        if (state.get(name) === "visiting") return [...chain.slice(chain.indexOf(name)), name];
        state.set(name, "visiting");
        for (const dep of graph[name]) {
            const cycle = visit(dep, [...chain, name]);
            if (cycle) return cycle;
        }
        state.set(name, "done");
        order.push(name);
        return undefined;
    };
    for (const name of Object.keys(graph).sort()) {
        const cycle = visit(name, []);
        if (cycle) return { order, cycle };
    }
    return { order };
}
