// Benchmark-only SCIM 2.0 peer built on scimmy + scimmy-routers + express.
// Users (with the EnterpriseUser extension) and Groups live in in-memory Maps.
// scimmy parses requests, validates them against its schemas, applies PATCH
// operations and shapes responses; this file stores resources and filters them
// with scimmy's own SCIMMY.Types.Filter (resource.filter.match).
//
// Not part of Roster; it exists so `roster bench` has a peer to compare against.
//
// Usage: node server.js [port]   (env: PORT, HOST, SCIM_TOKEN, SCIM_BASE)
import crypto from "node:crypto";
import express from "express";
import SCIMMY from "scimmy";
import SCIMMYRouters from "scimmy-routers";

const host = process.env.HOST ?? "127.0.0.1";
const port = Number(process.argv[2] ?? process.env.PORT ?? 0);
const token = process.env.SCIM_TOKEN ?? "";
const base = (process.env.SCIM_BASE ?? "/scim/v2").replace(/\/$/, "");

// One Map per resource type, keyed by id.
const stores = {User: new Map(), Group: new Map()};

// declare wires ingress/egress/degress handlers for a resource type over its
// Map. unique names an attribute the ingress keeps unique (case-insensitive),
// with a second Map from its lower-cased value to the holder's id.
function declare(Resource, store, unique) {
    const taken = new Map();
    const keyOf = (obj) => (unique && obj?.[unique] !== undefined ? String(obj[unique]).toLowerCase() : undefined);
    // reindex moves id's entry in taken from before's value to after's.
    const reindex = (id, before, after) => {
        const old = keyOf(before);
        if (old !== undefined && taken.get(old) === id) taken.delete(old);
        const now = keyOf(after);
        if (now !== undefined) taken.set(now, id);
    };
    return SCIMMY.Resources.declare(Resource)
        .egress((resource) => {
            if (resource.id) {
                const found = store.get(resource.id);
                if (!found) throw new SCIMMY.Types.Error(404, null, `Resource ${resource.id} not found`);
                return found;
            }
            // scimmy's ListResponse sorts and paginates the full list it is given.
            const all = [...store.values()];
            return resource.filter ? resource.filter.match(all) : all;
        })
        .ingress((resource, instance) => {
            const now = new Date().toISOString();
            const data = JSON.parse(JSON.stringify(instance));
            delete data.schemas;
            delete data.meta;
            const wanted = keyOf(data);
            if (wanted !== undefined) {
                const owner = taken.get(wanted);
                if (owner !== undefined && owner !== resource.id)
                    throw new SCIMMY.Types.Error(409, "uniqueness", `${unique} "${data[unique]}" is already taken`);
            }
            if (resource.id) {
                const existing = store.get(resource.id);
                if (!existing) throw new SCIMMY.Types.Error(404, null, `Resource ${resource.id} not found`);
                const updated = {...data, id: resource.id, meta: {...existing.meta, lastModified: now}};
                store.set(resource.id, updated);
                reindex(resource.id, existing, updated);
                return updated;
            }
            const id = crypto.randomUUID();
            const created = {...data, id, meta: {created: now, lastModified: now}};
            store.set(id, created);
            reindex(id, undefined, created);
            return created;
        })
        .degress((resource) => {
            const existing = store.get(resource.id);
            if (!existing) throw new SCIMMY.Types.Error(404, null, `Resource ${resource.id} not found`);
            store.delete(resource.id);
            reindex(resource.id, existing, undefined);
        });
}

declare(SCIMMY.Resources.User, stores.User, "userName")
    .extend(SCIMMY.Schemas.EnterpriseUser, false);
declare(SCIMMY.Resources.Group, stores.Group);

const app = express();
app.use(base, new SCIMMYRouters({
    type: "bearer",
    docUri: "https://github.com/roster-scim/roster/tree/main/bench/peers",
    handler: (request) => {
        if (!token) return "anonymous";
        if (request.header("Authorization") !== `Bearer ${token}`)
            throw new Error("Missing or invalid bearer token");
        return "bench";
    },
}));

const server = app.listen(port, host, () => {
    const addr = server.address();
    console.log(`listening on ${addr.address}:${addr.port}`);
});
