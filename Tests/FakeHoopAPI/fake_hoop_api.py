#!/usr/bin/env python3
"""A fake of hoop.dev's HTTP API (base path /api), read-only, serving a gateway store (SQLite, the
"gateway layout" of hoop-store.md §7) so the Swift client can pull it back and rebuild the rows.

Contract: hoop-openapi.json beside this file (hoop's Swagger 2.0 document), hoop-openapi.README.md (how hoop
really behaves) and hoop-store.md §4. Every JSON body is validated against the document before it
is sent, with only hoop's own deviations allowed (ALLOW-LIST below); a violation is logged to
--violations-file and answered 500, so a test sees it. See README.md next to this file.

Mapping rule for NULL columns: a field the allow-list lets be null is sent as null; any other
NULL column is left out of the object (hoop itself would often send "" or null there), so a
client reads "absent" and "null" alike as NULL and rebuilds the row exactly.

The store is read once at start-up. Python 3 standard library plus jsonschema (>= 4.18).
"""
import argparse, copy, json, os, re, signal, sqlite3, ssl, sys, threading, traceback, uuid
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

from jsonschema import Draft4Validator
from jsonschema.exceptions import best_match

HERE = os.path.dirname(os.path.abspath(__file__))
# hoop's own document, kept beside the fake (MIT, see LICENSE-hoop and README.md).
DEFAULT_OPENAPI = os.path.join(HERE, "hoop-openapi.json")
USER_NAME, USER_EMAIL = "Ada Auditor", "ada.auditor@acme.example"
GROUPS = {"auditor": ["auditor"], "admin": ["admin"], "standard": ["developers"]}

# ---------------------------------------------------------------------------------------------
# Time
# ---------------------------------------------------------------------------------------------
TS = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}:\d{2})(\.\d+)?)?\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?$")
RFC3339 = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})$")

def _offset(zone):
    if not zone or zone in "Zz":
        return timedelta(0)
    sign, digits = (1 if zone[0] == "+" else -1), zone[1:].replace(":", "")
    return sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))

def parse_ts(text):
    """A stored or query timestamp as a naive UTC datetime (None when unreadable). Offsets are honoured."""
    m = TS.match(text.strip()) if isinstance(text, str) else None
    if not m:
        return None
    day, clock, frac, zone = m.groups()
    dt = datetime.strptime(day + " " + (clock or "00:00:00"), "%Y-%m-%d %H:%M:%S")
    if frac:
        dt += timedelta(microseconds=int((frac[1:] + "000000")[:6]))
    return dt - _offset(zone)

def out_ts(text):
    """RFC 3339 UTC with Z; a stored `...Z` value (fractional digits included) is sent as stored."""
    if text is None:
        return None
    if RFC3339.match(text) and text.endswith("Z"):
        return text
    m, dt = TS.match(text.strip()), parse_ts(text)
    if dt is None:
        return text
    frac = m.group(3) or ""
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + frac + "Z"

def query_time(value, name):
    """hoop's /sessions date filter: RFC 3339, the offset DROPPED (clock time read as UTC), whole seconds."""
    m = RFC3339.match(value)
    if not m:
        raise HTTPError(422, f"failed parsing {name}: {value!r} is not RFC 3339")
    return datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S")

def jload(text):
    return None if text is None else json.loads(text)

def prune(obj, keep_null=()):
    """Leave out NULL fields, except those hoop sends as null (allow-listed below)."""
    return {k: v for k, v in obj.items() if v is not None or k in keep_null}

class HTTPError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status, self.message = status, message

# ---------------------------------------------------------------------------------------------
# Contract: the OpenAPI document, with hoop's own deviations as an explicit allow-list
# ---------------------------------------------------------------------------------------------
ROUTES = [  # (the document's path template under /api, API method); all GET
    ("/userinfo", "userinfo"), ("/sessions", "sessions"), ("/sessions/{session_id}", "session_detail"),
    ("/reviews", "reviews"), ("/reviews/{id}", "review_detail"), ("/users", "users"), ("/users/groups", "user_groups"),
    ("/connections", "connections"), ("/connections/{nameOrID}", "connection_detail"), ("/guardrails", "guardrails"),
    ("/datamasking-rules", "datamasking"), ("/access-requests/rules", "access_rules"), ("/audit/logs", "audit_logs"),
    ("/metrics/sessions", "metrics"),
]
ROUTES = [(re.compile("^/api" + re.sub(r"\{\w+\}", "([^/]+)", t) + "$"), t, h) for t, h in ROUTES]

# Fields hoop sends as null although the document does not mark them nullable.
NULLABLE = {
    # hoop-openapi.README.md, by name: Go nil pointers (end_date, exit_code, review, ai_analysis,
    # guardrails_info) and, in list items only, the script (see "openapi.Session(list item)").
    "openapi.Session": ["end_date", "exit_code", "review", "ai_analysis", "guardrails_info",
                        # the README's "…": Go nil maps of the Session struct, i.e. a NULL jsonb column
                        "connection_tags", "labels", "metadata", "metrics", "integrations_metadata"],
    "openapi.SessionReview": ["revoke_at", "time_window"],  # README: nil *time.Time / nil time window
    "openapi.Review": ["revoke_at", "time_window"],         # README; GET /reviews always sends time_window null
    "openapi.ReviewGroup": ["reviewed_by"],                 # README: nil owner while a group is pending
}
EXTRA_ENUM = [  # README: values outside the document's enums
    ("openapi.ReviewGroup", "status", "PENDING"),   # review-group status of an undecided group
    ("openapi.Connection", "type", "httpproxy"),    # connection type (DB enum value, 000061)
    ("openapi.UserInfo", "role", "auditor"),        # /userinfo role of an auditor
]
# README: `event_stream` is the stored [[seconds, "i|o|e", base64], ...] array, not integers.
EVENT_STREAM = {"type": "array", "items": {"type": "array", "minItems": 3, "maxItems": 3,
                                           "items": [{"type": "number"}, {"type": "string"}, {"type": "string"}]}}

def allow_listed(definitions):
    defs = copy.deepcopy(definitions)
    props = lambda name: defs[name]["properties"]
    for name, fields in NULLABLE.items():
        for f in fields:
            props(name)[f] = {"anyOf": [props(name)[f], {"type": "null"}]}
    for name, field, value in EXTRA_ENUM:
        props(name)[field] = {"anyOf": [props(name)[field], {"enum": [value]}]}
    props("openapi.Session")["event_stream"] = EVENT_STREAM
    # README: an API key's name (not an e-mail) can sit in `email`.
    for name in ("openapi.User", "openapi.UserInfo"):
        props(name)["email"].pop("format", None)
    # README: the session LIST leaves the script out (Go nil) -> null in list items only.
    item = copy.deepcopy(defs["openapi.Session"])
    item["properties"]["script"] = {"anyOf": [item["properties"]["script"], {"type": "null"}]}
    defs["openapi.Session(list item)"] = item
    props("openapi.SessionList")["data"]["items"] = {"$ref": "#/definitions/openapi.Session(list item)"}
    # NOT in the README (the one exception, see README.md): hoop stores and returns the redacted
    # request body as map[string]any (gateway/models/security_audit_log.go, auditlog.toResponse),
    # so its values are any JSON (e.g. `"reviewers":[]`, `"enabled":false`), not only strings.
    props("openapi.SecurityAuditLogResponse")["request_payload_redacted"]["additionalProperties"] = {}
    # The document's own marking (x-nullable, e.g. SessionList.total under count=none), not a deviation.
    for d in defs.values():
        for f, s in d.get("properties", {}).items():
            if s.get("x-nullable"):
                d["properties"][f] = {"anyOf": [s, {"type": "null"}]}
    return defs

class Contract:
    def __init__(self, path):
        with open(path) as f:
            doc = json.load(f)
        defs = allow_listed(doc["definitions"])

        def compiled(s, seen=()):
            """Refs inlined and one-element allOf wrappers (Swagger's way to annotate a ref) dropped:
            the same Draft 4 meaning, about a third faster to check."""
            if isinstance(s, list):
                return [compiled(x, seen) for x in s]
            if not isinstance(s, dict):
                return s
            name = s.get("$ref", "#/definitions/")[len("#/definitions/"):]
            if name and name not in seen:
                return compiled(defs[name], seen + (name,))
            out = {k: v if k in ("enum", "default", "example") else
                   {p: compiled(x, seen) for p, x in v.items()} if k == "properties" else compiled(v, seen)
                   for k, v in s.items()}
            if len(out.get("allOf", ())) == 1 and set(out) <= {"allOf", "description", "example", "readOnly", "default"}:
                return out["allOf"][0]
            return out

        def make(schema):
            root = dict(compiled(schema), definitions=defs)  # definitions: for a recursive ref, if any
            return Draft4Validator(root, format_checker=Draft4Validator.FORMAT_CHECKER)
        self.validators = {}  # (path template, status) -> validator, compiled once
        for _, template, _ in ROUTES:
            for status, response in doc["paths"][template]["get"]["responses"].items():
                if "schema" in response:
                    self.validators[(template, int(status))] = make(response["schema"])
        # An error status the document does not list for a path (401, 405, 429 from a proxy, ...):
        # hoop answers every error with openapi.HTTPError.
        self.http_error = make({"$ref": "#/definitions/openapi.HTTPError"})

    def violation(self, template, status, body):
        v = self.validators.get((template, status)) or (self.http_error if status >= 400 else None)
        if v is None:
            return ("", f"no schema in the document for {template} status {status}")
        if v.is_valid(body):
            return None
        error = best_match(v.iter_errors(body))
        pointer = "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in error.absolute_path)
        return (pointer, error.message[:500])

# ---------------------------------------------------------------------------------------------
# The store
# ---------------------------------------------------------------------------------------------
def _group(items, key):
    """Rows by one column's value."""
    out = defaultdict(list)
    for item in items:
        out[item.get(key)].append(item)
    return out

class Store:
    def __init__(self, path):
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        db.row_factory = sqlite3.Row
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        rows = lambda t: [dict(r) for r in db.execute(f"SELECT * FROM {t} ORDER BY rowid")] if t in tables else []

        self.sessions = rows("sessions")
        for s in self.sessions:
            s["id"] = s["id"].lower()
            s["_t"] = parse_ts(s["created_at"])
        # newest first: created_at DESC, id DESC (hoop's index (org_id, created_at DESC, id DESC), 000109)
        self.sessions.sort(key=lambda s: (s["_t"] or datetime.min, s["id"]), reverse=True)
        self.session = {s["id"]: s for s in self.sessions}
        self.blobs = {b["id"]: b for b in rows("blobs")}
        self.reviews = rows("reviews")
        self.review = {r["id"].lower(): r for r in self.reviews}
        self.review_of_session = {r["session_id"].lower(): r for r in self.reviews if r.get("session_id")}
        self.review_groups = _group(sorted(rows("review_groups"), key=lambda g: g["id"]), "review_id")
        self.users = rows("users")
        self.user_groups = _group(rows("user_groups"), "user_id")
        self.connections = sorted(rows("connections"), key=lambda c: c["name"] or "")
        plugins = {p["id"]: p["name"] for p in rows("plugins")}
        self.plugin_config = defaultdict(list)  # (connection id, plugin name) -> config values
        for pc in rows("plugin_connections"):
            if pc.get("enabled") and plugins.get(pc["plugin_id"]) in ("review", "dlp"):
                self.plugin_config[(pc["connection_id"], plugins[pc["plugin_id"]])] += jload(pc["config"]) or []
        tags = {t["id"]: t for t in rows("connection_tags")}
        self.connection_tags = defaultdict(dict)
        for a in rows("connection_tags_association"):
            if a["tag_id"] in tags:
                self.connection_tags[a["connection_id"]][tags[a["tag_id"]]["key"]] = tags[a["tag_id"]]["value"]
        self.connection_attributes = _group(rows("connections_attributes"), "connection_name")
        self.guardrails = sorted(rows("guardrail_rules"), key=lambda r: r["name"] or "")
        links = rows("guardrail_rules_connections")
        self.guardrail_connections = _group(links, "rule_id")
        self.connection_guardrails = defaultdict(list)
        for link in links:
            self.connection_guardrails[link["connection_id"]].append(link["rule_id"])
        self.guardrail_attributes = _group(rows("guardrail_rules_attributes"), "guardrail_rule_name")
        self.masking = sorted(rows("datamasking_rules"), key=lambda r: r["name"] or "")
        self.masking_connections = _group(rows("datamasking_rules_connections"), "rule_id")
        self.masking_attributes = _group(rows("datamasking_rules_attributes"), "datamasking_rule_name")
        self.access_rules = sorted(rows("access_request_rules"), key=lambda r: (r["name"] or "", r["id"]))
        self.access_rule_attributes = _group(rows("access_request_rules_attributes"), "access_rule_name")
        self.audit = rows("security_audit_log")  # rowid order: the "arbitrary but fixed" order of ties
        for a in self.audit:
            a["_t"] = parse_ts(a["created_at"])
        # hoop: ORDER BY created_at DESC and nothing else; a stable sort keeps ties in rowid order.
        self.audit.sort(key=lambda a: a["_t"] or datetime.min, reverse=True)
        self.metrics = [m for m in rows("session_metrics") if (m["session_id"] or "").lower() in self.session]
        for m in self.metrics:
            m["_c"], m["_e"] = parse_ts(m["session_created_at"]), parse_ts(m["session_ended_at"])
        # hoop: ORDER BY sm.session_created_at DESC, sm.session_id, sm.info_type
        self.metrics.sort(key=lambda m: (m["session_id"], m["info_type"]))
        self.metrics.sort(key=lambda m: m["_c"] or datetime.min, reverse=True)
        first = self.sessions[0] if self.sessions else (self.users[0] if self.users else {})
        self.org_id = first.get("org_id") or "00000000-0000-0000-0000-000000000000"
        db.close()

    def blob_text(self, blob_id):
        blob = self.blobs.get(blob_id) if blob_id else None
        return blob["blob_stream"] if blob else None

    def script(self, s):
        """The session-input blob's JSON array: its first string is the script."""
        text = self.blob_text(s.get("blob_input_id"))
        values = jload(text) if text else None
        return values[0] if values else None

# ---------------------------------------------------------------------------------------------
# The API (every handler returns (status, body[, raw event stream text]) or raises HTTPError)
# ---------------------------------------------------------------------------------------------
SESSION_NULLS = {"end_date", "exit_code", "review", "script", "ai_analysis", "guardrails_info",
                 "connection_tags", "labels", "metadata", "metrics", "integrations_metadata"}
BOOL = {"1": True, "t": True, "T": True, "TRUE": True, "true": True, "True": True,
        "0": False, "f": False, "F": False, "FALSE": False, "false": False, "False": False}  # Go's strconv.ParseBool
INT = re.compile(r"^[+-]?\d+$")

def arg(q, name):
    values = q.get(name)
    return values[0] if values else None  # gin's c.Query: the first value

class API:
    def __init__(self, store, role, deleted, repeat=False):
        self.store, self.role, self.deleted, self.repeat = store, role, deleted, repeat

    def repeated(self, rows):
        """With --repeat-rows, the first row listed twice: an inconsistent server."""
        return rows + rows[:1] if self.repeat else rows

    # --- /userinfo
    def userinfo(self, q):
        return 200, {
            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, "fake-hoop-user:" + USER_EMAIL)), "name": USER_NAME,
            "email": USER_EMAIL, "status": "active", "verified": True, "role": self.role, "slack_id": "",
            "picture": "", "groups": GROUPS[self.role], "is_admin": self.role == "admin", "is_multitenant": False,
            "tenancy_type": "selfhosted", "org_id": self.store.org_id, "org_name": "", "org_license": "",
            "feature_ask_ai": "unavailable", "webapp_users_management": "on", "intercom_hmac_digest": ""}

    # --- sessions
    def sessions(self, q):
        def integer(name, default):
            value = arg(q, name)
            if value in (None, ""):
                return default
            if not INT.match(value) or int(value) < 0:
                raise HTTPError(422, f"{name} must be a non-negative integer")
            return int(value)
        limit = integer("limit", 20) or 20  # 0 reads as unset (Go zero value)
        limit = min(limit, 100)             # README: above 100 clamped silently
        offset = integer("offset", 0)
        if offset > 10000:
            raise HTTPError(422, "offset must be at most 10000")
        count = arg(q, "count") or "capped"
        if count not in ("exact", "capped", "none"):
            raise HTTPError(422, "count must be one of exact, capped, none")
        rows = self.store.sessions
        if self.role == "standard":  # hoop#1153: a standard user lists only their own (and reviewable) sessions
            rows = [s for s in rows if s["user_email"] == USER_EMAIL]
        start, end = arg(q, "start_date"), arg(q, "end_date")
        if start:  # README: end_date alone is ignored; start_date alone runs to now; both ends inclusive
            lo = query_time(start, "start_date")
            hi = query_time(end, "end_date") if end else datetime.now(timezone.utc).replace(tzinfo=None)
            rows = [s for s in rows if s["_t"] is not None and lo <= s["_t"] <= hi]
        page = rows[offset:offset + limit]
        total = len(rows)
        body = {"data": [self.session_json(s, full=False) for s in page],
                "total": None if count == "none" else total if count == "exact" else min(total, 10000),
                "total_is_capped": count == "capped" and total > 10000,
                "has_next_page": offset + len(page) < total}
        return 200, body

    def session_detail(self, q, sid):
        try:
            sid = str(uuid.UUID(sid))
        except ValueError:  # README: a non-UUID id is a database error in hoop: 500, not 404
            raise HTTPError(500, f'failed fetching session: invalid input syntax for type uuid: "{sid}"')
        s = self.store.session.get(sid)
        if s is None or sid in self.deleted:
            raise HTTPError(404, "session not found")
        if self.role == "standard" and s["user_email"] != USER_EMAIL:
            raise HTTPError(403, "user is not allowed to access this session")  # owner, reviewer, admin, auditor only
        expand = {x for v in q.get("expand", []) for x in v.split(",")}
        body = self.session_json(s, full=True, expand=expand)
        raw = None
        if "event_stream" in expand:  # only the default (raw) stream mode is modelled
            raw = self.store.blob_text(s.get("blob_stream_id"))
        return 200, body, raw

    def session_json(self, s, full, expand=()):
        stream = self.store.blob_text(s.get("blob_stream_id"))
        script = self.store.script(s)
        review = self.store.review_of_session.get(s["id"])
        out = {
            "id": s["id"], "org_id": s.get("org_id"), "connection": s.get("connection"), "role_name": s.get("connection"),
            "type": s.get("connection_type"), "connection_subtype": s.get("connection_subtype"),
            "connection_tags": jload(s.get("connection_tags")), "labels": jload(s.get("labels")),
            "metadata": jload(s.get("metadata")), "integrations_metadata": jload(s.get("integrations_metadata")),
            "metrics": jload(s.get("metrics")),
            "ai_analysis": jload(s.get("ai_analysis")) if full else None,  # README: lists leave it out
            "guardrails_info": jload(s.get("guardrails_info")),
            "user": s.get("user_email"), "user_id": s.get("user_id"), "user_name": s.get("user_name"),
            "verb": s.get("verb"), "status": s.get("status"), "exit_code": s.get("exit_code"),
            "session_batch_id": s.get("session_batch_id"), "correlation_id": s.get("correlation_id"),
            "machine_identity_id": s.get("machine_identity_id"), "identity_type": s.get("identity_type"),
            "start_date": out_ts(s["created_at"]), "end_date": out_ts(s.get("ended_at")),
            "event_size": len(stream.encode()) if stream is not None else 0,
            "script_size": len(script.encode()) if script is not None else 0,
            "review": self.review_json(review, "full" if full else "session-list") if review else None,
            # README: the script only with expand=session_input; expand=event_stream alone gives "".
            "script": ({"data": (script or "") if "session_input" in expand else ""}) if full else None,
        }
        return prune(out, SESSION_NULLS)

    # --- reviews
    def review_json(self, r, form):
        """form: "full" (session detail, GET /reviews/{id}), "session-list", "reviews-list" (GET /reviews)."""
        groups = []
        for g in self.store.review_groups.get(r["id"], []):
            by = None if g.get("owner_id") is None else prune({
                "id": g["owner_id"], "name": g.get("owner_name"), "email": g.get("owner_email"),
                "slack_id": g.get("owner_slack_id")})
            forced = None if g.get("forced_review") is None else bool(g["forced_review"])
            groups.append(prune({
                "id": g["id"], "group": g.get("group_name"), "status": g.get("status"), "reviewed_by": by,
                "review_date": out_ts(g.get("reviewed_at")),
                # README: GET /reviews sends forced_review false for every group
                "forced_review": False if form == "reviews-list" else forced}, keep_null={"reviewed_by"}))
        seconds = r.get("access_duration_sec")
        out = {
            "id": r["id"], "type": r.get("type"), "status": r.get("status"),
            "access_duration": None if seconds is None else int(seconds) * 1_000_000_000,  # shown in nanoseconds
            "created_at": out_ts(r.get("created_at")), "revoke_at": out_ts(r.get("revoked_at")),
            "time_window": jload(r.get("time_window")) if form == "full" else None,  # README: null in lists
            "access_request_rule_name": r.get("access_request_rule_name"), "min_approvals": r.get("min_approvals"),
            "force_approval_groups": jload(r.get("force_approval_groups")),
            "rejection_reason": r.get("rejection_reason"), "review_groups_data": groups,
        }
        if form == "session-list":  # README: list items leave out the rule name, min approvals, force groups
            for key in ("access_request_rule_name", "min_approvals", "force_approval_groups"):
                del out[key]
        return prune(out, keep_null={"revoke_at", "time_window"})

    def reviews(self, q):
        # README: the whole organization, no filters, no paging. Order: newest first (hoop's likely ORDER BY).
        reviews = sorted(self.store.reviews, key=lambda r: (parse_ts(r.get("created_at")) or datetime.min, r["id"]),
                         reverse=True)
        return 200, [dict(self.review_json(r, "reviews-list"), session=r.get("session_id")) for r in reviews]

    def review_detail(self, q, rid):
        rid = rid.lower()  # README: a review id or a session id
        r = self.store.review.get(rid) or self.store.review_of_session.get(rid)
        if r is None:
            raise HTTPError(404, "review not found")
        return 200, dict(self.review_json(r, "full"), session=r.get("session_id"))

    # --- users
    def users(self, q):
        out = []
        for u in sorted(self.store.users, key=lambda u: ((u.get("email") or "").lower(), u["id"])):
            groups = sorted({g["name"] for g in self.store.user_groups.get(u["id"], []) if g.get("name")})
            verified = None if u.get("verified") is None else bool(u["verified"])
            out.append(prune({"id": u["id"], "email": u.get("email"), "name": u.get("name"), "groups": groups,
                              "role": "admin" if "admin" in groups else "standard", "status": u.get("status"),
                              "verified": verified, "slack_id": u.get("slack_id"), "picture": u.get("picture") or ""}))
        return 200, self.repeated(out)

    def user_groups(self, q):
        names = {g["name"] for gs in self.store.user_groups.values() for g in gs if g.get("name")}
        return 200, sorted(names)

    # --- connections
    def connection_json(self, c, full):
        cid, store = c["id"], self.store
        redact = store.plugin_config.get((cid, "dlp"), [])
        out = {
            "id": cid, "name": c["name"], "type": c.get("type"), "subtype": c.get("subtype"),
            "agent_id": c.get("agent_id") or "",  # required by the document; hoop sends "" for no agent
            "resource_name": c.get("resource_name"), "command": jload(c.get("command")), "status": c.get("status"),
            "tags": jload(c.get("_tags")), "connection_tags": dict(store.connection_tags.get(cid, {})),
            "access_mode_runbooks": c.get("access_mode_runbooks") or "enabled",
            "access_mode_exec": c.get("access_mode_exec") or "enabled",
            "access_mode_connect": c.get("access_mode_connect") or "enabled",
            "access_schema": c.get("access_schema") or "disabled",  # required enum: hoop's column default
            "reviewers": list(store.plugin_config.get((cid, "review"), [])), "redact_types": list(redact),
            "redact_enabled": bool(redact),
            "guardrail_rules": sorted(store.connection_guardrails.get(cid, [])),
            "attributes": sorted(a["attribute_name"] for a in store.connection_attributes.get(c["name"], [])),
            "managed_by": c.get("managed_by"), "jira_issue_template_id": c.get("jira_issue_template_id"),
            "secrets_updated_at": out_ts(c.get("secrets_updated_at")),
        }
        if full:  # README: the list form leaves these four out
            out.update(force_approve_groups=jload(c.get("force_approve_groups")),
                       access_max_duration=c.get("access_max_duration"),
                       min_review_approvals=c.get("min_review_approvals"),
                       mandatory_metadata_fields=jload(c.get("mandatory_metadata_fields")))
        return prune(out)  # never secret/env vars

    def connections(self, q):
        return 200, self.repeated([self.connection_json(c, full=False) for c in self.store.connections])

    def connection_detail(self, q, key):
        for c in self.store.connections:
            if c["name"] == key or c["id"].lower() == key.lower():
                return 200, self.connection_json(c, full=True)
        raise HTTPError(404, "connection not found")

    # --- rules
    def guardrails(self, q):
        out = []
        for g in self.store.guardrails:
            out.append(prune({
                "id": g["id"], "name": g["name"], "description": g.get("description"),
                "input": jload(g.get("input")), "output": jload(g.get("output")),
                "connection_ids": sorted(c["connection_id"] for c in self.store.guardrail_connections.get(g["id"], [])),
                "attributes": sorted(a["attribute_name"] for a in self.store.guardrail_attributes.get(g["name"], [])),
                "managed_by": g.get("managed_by"), "created_at": out_ts(g.get("created_at")),
                "updated_at": out_ts(g.get("updated_at"))}))
        return 200, self.repeated(out)

    def datamasking(self, q):
        out = []
        for r in self.store.masking:
            # hoop (models.ListDataMaskingRules): connection_ids = the ACTIVE associations only; the
            # document has no per-connection status and no created_at for a masking rule.
            links = self.store.masking_connections.get(r["id"], [])
            out.append(prune({
                "id": r["id"], "name": r["name"], "description": r.get("description"),
                "supported_entity_types": jload(r.get("supported_entity_types")),
                "custom_entity_types": jload(r.get("custom_entity_types")), "score_threshold": r.get("score_threshold"),
                "connection_ids": sorted(c["connection_id"] for c in links if (c.get("status") or "active") == "active"),
                "attributes": sorted(a["attribute_name"] for a in self.store.masking_attributes.get(r["name"], [])),
                "managed_by": r.get("managed_by"), "updated_at": out_ts(r.get("updated_at"))}))
        return 200, out

    def access_rules(self, q):
        def integer(name, default):  # hoop's parseIntParam: fmt.Sscanf("%d"), negative refused; 400
            value = arg(q, name)
            if value in (None, ""):
                return default
            m = re.match(r"^\s*([+-]?\d+)", value)
            if not m:
                raise HTTPError(400, f"invalid {name} parameter")
            if int(m.group(1)) < 0:
                raise HTTPError(400, f"{name} must be non-negative")
            return int(m.group(1))
        page, size = integer("page", 1), integer("page_size", 0)  # page_size 0 (default): everything
        rules = self.store.access_rules
        chosen = rules[max(page - 1, 0) * size:max(page, 1) * size] if size > 0 else rules
        data = [prune({
            "id": r["id"], "name": r["name"], "description": r.get("description"), "access_type": r.get("access_type"),
            "connection_names": jload(r.get("connection_names")),
            "approval_required_groups": jload(r.get("approval_required_groups")),
            "all_groups_must_approve": None if r.get("all_groups_must_approve") is None else bool(r["all_groups_must_approve"]),
            "reviewers_groups": jload(r.get("reviewers_groups")), "force_approval_groups": jload(r.get("force_approval_groups")),
            "skip_review_groups": jload(r.get("skip_review_groups")), "access_max_duration": r.get("access_max_duration"),
            "min_approvals": r.get("min_approvals"),
            "attributes": sorted(a["attribute_name"] for a in self.store.access_rule_attributes.get(r["name"], [])),
            "managed_by": r.get("managed_by"), "created_at": out_ts(r.get("created_at")),
            "updated_at": out_ts(r.get("updated_at"))}) for r in chosen]
        # hoop: pages = {total: number of rules, page: as asked (1-based), size: page_size as asked}
        return 200, {"pages": {"total": len(rules), "page": page, "size": size}, "data": data}

    # --- audit log
    def audit_logs(self, q):
        if self.role == "standard":
            raise HTTPError(403, "access denied, only admins and auditors can list audit logs")
        page, size = arg(q, "page") or "", arg(q, "page_size") or ""  # hoop's ParsePaginationParams: 422
        if page and (not INT.match(page) or int(page) < 1):
            raise HTTPError(422, "page must be >= 1")
        if size and (not INT.match(size) or not 1 <= int(size) <= 100):
            raise HTTPError(422, "page_size must be between 1 and 100")
        page, size = int(page or 1), int(size or 50)  # the document: page 1-based, default 1; size default 50
        rows = self.store.audit
        for name, partial in (("actor_subject", True), ("actor_email", True), ("http_path", True), ("client_ip", True),
                              ("resource_type", False), ("action", False), ("http_method", False)):
            value = arg(q, name)
            if value:  # hoop: ILIKE '%value%' for the partial ones, = for the others
                rows = [a for a in rows if (value.lower() in (a.get(name) or "").lower() if partial else a.get(name) == value)]
        if arg(q, "http_status"):
            rows = [a for a in rows if str(a.get("http_status")) == arg(q, "http_status")]
        if arg(q, "outcome"):
            if arg(q, "outcome") not in BOOL:
                raise HTTPError(400, "outcome must be true or false")
            rows = [a for a in rows if bool(a.get("outcome")) == BOOL[arg(q, "outcome")]]
        for name, keep in (("created_after", lambda t, b: t >= b), ("created_before", lambda t, b: t <= b)):
            value = arg(q, name)
            if value:
                # hoop passes the text to PostgreSQL (timestamptz; offsets honoured, a bare date is
                # midnight UTC); text PostgreSQL cannot read is a database error: 500.
                bound = parse_ts(value)
                if bound is None:
                    raise HTTPError(500, "internal server error")
                rows = [a for a in rows if a["_t"] is not None and keep(a["_t"], bound)]
        chosen = rows[(page - 1) * size:page * size]
        data = [prune({
            "id": a["id"], "org_id": a.get("org_id"), "actor_subject": a.get("actor_subject"),
            "actor_email": a.get("actor_email"), "actor_name": a.get("actor_name"), "created_at": out_ts(a.get("created_at")),
            "resource_type": a.get("resource_type"), "action": a.get("action"), "http_method": a.get("http_method"),
            "http_status": a.get("http_status"), "http_path": a.get("http_path"), "client_ip": a.get("client_ip"),
            "request_payload_redacted": jload(a.get("request_payload_redacted")),
            "outcome": None if a.get("outcome") is None else bool(a["outcome"]), "error_message": a.get("error_message")})
            for a in chosen]
        return 200, {"pages": {"total": len(rows), "page": page, "size": size}, "data": data}  # total: ROWS

    # --- masking metrics
    def metrics(self, q):
        # hoop binds these with gin (models.SessionMetricsFilter): dates are YYYY-MM-DD only
        # (time_format "2006-01-02"), integers and booleans strict; any binding error is a 400.
        def bad(detail):
            return HTTPError(400, "Invalid query parameters: " + detail)
        def date(name):
            value = arg(q, name)
            if not value:
                return None
            if not re.match(r"^\d{4}-\d{2}-\d{2}$", value):
                raise bad(f'parsing time "{value}" as "2006-01-02": cannot parse')
            try:
                return datetime.strptime(value, "%Y-%m-%d")
            except ValueError:
                raise bad(f'parsing time "{value}": day out of range')
        def integer(name):
            value = arg(q, name)
            if value and not INT.match(value):
                raise bad(f'strconv.ParseInt: parsing "{value}": invalid syntax')
            return int(value) if value else 0
        value = arg(q, "include_open_sessions")
        if value and value not in BOOL:
            raise bad(f'strconv.ParseBool: parsing "{value}": invalid syntax')
        include_open = BOOL.get(value or "false")
        start, end = date("session_start_date"), date("session_end_date")
        page, limit = integer("page"), integer("limit")
        limit = 100 if limit <= 0 else min(limit, 1000)  # hoop: default 100, at most 1000
        page = 1 if page <= 0 else page                  # 1-based
        rows = [m for m in self.store.metrics if m["session_id"].lower() not in self.deleted]
        # session_id: a csv list (collectionFormat csv), possibly repeated; AND-ed with the rest.
        wanted = {i.strip().lower() for v in q.get("session_id", []) for i in v.split(",") if i.strip()}
        if wanted:
            rows = [m for m in rows if m["session_id"].lower() in wanted]
        if start:  # hoop: sm.session_created_at >= session_start_date
            rows = [m for m in rows if m["_c"] is not None and m["_c"] >= start]
        if end:    # hoop: on ENDED time, the end date's whole day included (end + 24h), open ones if asked
            end += timedelta(days=1)
            rows = [m for m in rows if (m["_e"] is None and include_open) or (m["_e"] is not None and m["_e"] <= end)]
        elif not include_open:
            rows = [m for m in rows if m["_e"] is not None]
        chosen = rows[(page - 1) * limit:page * limit]
        sessions = self.store.session
        data = []
        for m in chosen:
            duration = None
            if m["_e"] is not None and m["_c"] is not None:  # EXTRACT(EPOCH ...)::INTEGER rounds half away from 0
                us = (m["_e"] - m["_c"]) // timedelta(microseconds=1)
                duration = (abs(us) + 500_000) // 1_000_000 * (1 if us >= 0 else -1)
            count_masked = m.get("count_masked")
            data.append(prune({
                "session_id": m["session_id"], "org_id": m.get("org_id"), "connection_type": m.get("connection_type"),
                "connection_subtype": m.get("connection_subtype"),
                "connection_name": sessions[m["session_id"].lower()].get("connection"), "info_type": m.get("info_type"),
                "count_masked": count_masked, "count_analyzed": m.get("count_analyzed"),
                "is_masked": (count_masked or 0) > 0, "session_created_at": out_ts(m.get("session_created_at")),
                "session_ended_at": out_ts(m.get("session_ended_at")), "session_duration_sec": duration}))
        pages = -(-len(rows) // limit)  # README: pages.total counts PAGES here
        return 200, {"pages": {"total": pages, "page": page, "size": limit}, "data": self.repeated(data)}

# ---------------------------------------------------------------------------------------------
# HTTP
# ---------------------------------------------------------------------------------------------
class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64

    def __init__(self, args, api, contract, tls):
        super().__init__(("127.0.0.1", 0), Handler)  # loopback only, a free port
        self.args, self.api, self.contract, self.tls = args, api, contract, tls
        self.lock = threading.Lock()
        self.fail_429 = []  # [prefix, remaining]
        for spec in args.fail_429 or []:
            prefix, _, n = spec.rpartition(":") if re.search(r":\d+$", spec) else (spec, "", "1")
            self.fail_429.append([prefix, int(n)])
        self.details_ok = 0

    def finish_request(self, request, client_address):
        if self.tls is None:
            return super().finish_request(request, client_address)
        conn = self.tls.wrap_socket(request, server_side=True)  # the handshake runs in the worker thread
        try:
            self.RequestHandlerClass(conn, client_address, self)
        finally:
            conn.close()

    def handle_error(self, request, client_address):
        pass  # a client that drops its connection is not news

    def append(self, path, line):
        if path:
            with self.lock, open(path, "a", encoding="utf-8") as f:
                f.write(line + "\n")

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive; every answer carries Content-Length
    disable_nagle_algorithm = True  # headers and body go out as two writes: no 40 ms delayed-ACK stalls
    server_version = "fake-hoop-api"
    timeout = 120

    def log_message(self, *args):
        pass  # quiet; --request-log has one line per request

    def do_GET(self):
        self.answer(*self.route())

    def other(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self.answer(405, {"message": "method not allowed: this fake is read-only"}, None, "")

    do_POST = do_PUT = do_PATCH = do_DELETE = other

    def route(self):
        srv, url = self.server, urlsplit(self.path)
        q = parse_qs(url.query, keep_blank_values=True)
        with srv.lock:  # --fail-429: a proxy in front of hoop (hoop has no rate limiter)
            for fault in srv.fail_429:
                if url.path.startswith(fault[0]) and fault[1] > 0:
                    fault[1] -= 1
                    return 429, {"message": "too many requests"}, None, "", {"Retry-After": "1"}
        for rx, template, handler in ROUTES:
            m = rx.match(url.path)
            if m:
                break
        else:
            return 404, {"message": "not found"}, None, ""
        if self.headers.get("Authorization", "") != "Bearer " + srv.args.token:
            return 401, {"message": "invalid authentication"}, None, template
        is_detail = template == "/sessions/{session_id}"
        if is_detail and srv.args.fail_500_after is not None:
            with srv.lock:
                if srv.details_ok >= srv.args.fail_500_after:
                    return 500, {"message": "internal error"}, None, template
        try:
            result = getattr(srv.api, handler)(q, *[unquote(g) for g in m.groups()])
        except HTTPError as e:
            return e.status, {"message": e.message}, None, template
        except Exception:
            traceback.print_exc(file=sys.stderr)
            return 500, {"message": "internal error"}, None, template
        status, body, raw = (result + (None,))[:3]
        if is_detail and status == 200 and srv.args.fail_500_after is not None:
            with srv.lock:  # exactly N detail answers succeed, however many are in flight
                if srv.details_ok >= srv.args.fail_500_after:
                    return 500, {"message": "internal error"}, None, template
                srv.details_ok += 1
        return status, body, raw, template

    def answer(self, status, body, raw, template, headers=None):
        srv = self.server
        try:
            checked = body
            if raw is not None:  # validate the stream as parsed; send it as stored (hoop: json.RawMessage)
                checked = dict(body, event_stream=json.loads(raw))
            problem = srv.contract.violation(template, status, checked)
        except ValueError as e:  # the stored stream is not JSON
            problem = ("/event_stream", f"stored blob is not JSON: {e}")
        if problem:
            pointer, message = problem
            srv.append(srv.args.violations_file, f"{self.path}\t{pointer or '/'}\t{message}".replace("\n", " "))
            status, raw = 500, None
            body = {"message": f"fake server contract violation: {pointer or '/'}: {message}"}
        text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
        if raw is not None:
            text = text[:-1] + ("," if len(text) > 2 else "") + '"event_stream":' + raw + "}"
        data = text.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)
        srv.append(srv.args.request_log, f"{self.command} {self.path} {status}")

def main(argv=None):
    p = argparse.ArgumentParser(description="A fake of hoop.dev's HTTP API over a gateway store (SQLite).")
    p.add_argument("--store", required=True, help="the gateway store (SQLite, hoop's tables without private.)")
    p.add_argument("--token", required=True, help="the one accepted bearer token (or hpk_ API key)")
    p.add_argument("--port-file", help="where to write the chosen port once listening (atomically)")
    p.add_argument("--role", choices=sorted(GROUPS), default="auditor", help="the token user's role")
    p.add_argument("--tls-cert", help="PEM certificate (with --tls-key): serve HTTPS")
    p.add_argument("--tls-key", help="PEM private key")
    p.add_argument("--fail-429", action="append", metavar="PATH_PREFIX[:N]",
                   help="the first N (default 1) requests whose path starts with PATH_PREFIX answer 429")
    p.add_argument("--fail-500-after", type=int, metavar="N", help="after N good session details, details answer 500")
    p.add_argument("--delete-after-list", action="append", default=[], metavar="SESSION_ID",
                   help="listed by GET /api/sessions, but its detail answers 404 and it is not in metrics")
    p.add_argument("--repeat-rows", action="store_true",
                   help="list the first user, connection, guardrail and metric of each page twice")
    p.add_argument("--violations-file", help="contract violations, one line each: path, JSON pointer, message")
    p.add_argument("--request-log", help="one line per request: method, path with query, status")
    p.add_argument("--openapi", default=os.environ.get("HOOP_OPENAPI", DEFAULT_OPENAPI), help="hoop's OpenAPI document")
    args = p.parse_args(argv)
    if bool(args.tls_cert) != bool(args.tls_key):
        p.error("--tls-cert and --tls-key go together")

    deleted = {d.lower() for d in args.delete_after_list}
    api = API(Store(args.store), args.role, deleted, args.repeat_rows)
    contract = Contract(args.openapi)
    tls = None
    if args.tls_cert:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(args.tls_cert, args.tls_key)
    if args.violations_file:
        open(args.violations_file, "a").close()  # exists (empty) from the start
    server = Server(args, api, contract, tls)
    if args.port_file:
        tmp = f"{args.port_file}.{os.getpid()}.tmp"
        with open(tmp, "w") as f:
            f.write(f"{server.server_address[1]}\n")
        os.replace(tmp, args.port_file)

    def stop(signum, frame):  # shutdown() waits for serve_forever, so not from this (its) thread
        threading.Thread(target=server.shutdown, daemon=True).start()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    server.serve_forever(poll_interval=0.2)
    server.server_close()
    return 0

if __name__ == "__main__":
    sys.exit(main())
