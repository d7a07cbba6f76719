"""The tables and functions every replica of one fake shares in PostgreSQL, and how a replica
makes or checks them at start.

One row per request; each lifecycle transition is one `UPDATE` inside `falfake_advance`, which
replays the runners' events in time order exactly as `falfake.queue.store` does in memory, under
the row lock of the one `falfake_queue` row. A poll that finds no event due (its time is kept in
that row) reads without taking the lock, so polls of many replicas do not queue behind each
other; a poll is one call of `falfake_status`, one round trip.

A change to what this file makes bumps `SCHEMA_VERSION` and adds the step from the version before
to `MIGRATIONS`; the first replica on an empty database makes the schema, and a replica that finds
an older one migrates it forward, both under an advisory lock so replicas starting together do it
once. A version it does not know (a newer falfake's) is refused, saying which.
"""

from __future__ import annotations

SCHEMA_VERSION = "2"
# Forward migrations: the version a database holds -> (the version after, the SQL that makes it).
# A replica applies them in turn under the advisory lock; a version neither here nor current
# (a newer falfake's) is refused.
MIGRATIONS: dict[str, tuple[str, str]] = {
    # 2: the journal keeps an event stream's events.
    "1": ("2", "ALTER TABLE falfake_journal ADD COLUMN reply bytea NOT NULL DEFAULT ''"),
}
# pg_advisory_lock key, taken while the schema is made or checked ("falfake" in ASCII).
MIGRATION_LOCK = 0x66616C66616B65

# Statuses as stored: IN_QUEUE, IN_PROGRESS, COMPLETED.
QUEUED, RUNNING, DONE = 0, 1, 2
# Why a request completed: its job's outcome, its start deadline, or a cancel.
BY_JOB, BY_DEADLINE, BY_CANCEL = 0, 1, 2

SCHEMA = """
CREATE TABLE falfake_meta (key text PRIMARY KEY, value text NOT NULL);

-- The runners' shared state, one row: its lock is the lock of every transition.
CREATE TABLE falfake_queue (
    id int PRIMARY KEY CHECK (id = 1),
    cursor float8 NOT NULL DEFAULT '-infinity',  -- time of the last replayed event
    next_event float8 NOT NULL DEFAULT '-infinity',  -- nothing changes before this
    next_expiry float8 NOT NULL DEFAULT 'infinity',  -- nor is anything forgotten
    running int NOT NULL DEFAULT 0,
    queued int NOT NULL DEFAULT 0,
    held int NOT NULL DEFAULT 0,
    held_bytes bigint NOT NULL DEFAULT 0
);
INSERT INTO falfake_queue (id) VALUES (1);
CREATE SEQUENCE falfake_seq;

CREATE TABLE falfake_requests (
    request_id text PRIMARY KEY,
    seq bigint NOT NULL,
    app_id text NOT NULL,
    endpoint_id text NOT NULL,
    status smallint NOT NULL DEFAULT 0,
    rank smallint NOT NULL,
    submitted_at float8 NOT NULL,
    eligible_at float8 NOT NULL,
    start_deadline float8,
    run_seconds float8 NOT NULL,
    started_at float8,
    finishes_at float8,
    completed_at float8,
    ending smallint,
    webhook_url bytea,  -- a client's text, kept whole
    webhook_pending boolean NOT NULL DEFAULT false,
    webhook_lease float8,
    stored_bytes bigint NOT NULL,
    images text[] NOT NULL,  -- digests of its reference images in falfake_images
    record text NOT NULL  -- falfake.runtime.codec's record as submitted: its job, its paths
-- Every transition moves a row between partial indexes: vacuum early, so their scans for the
-- next event do not wade through dead entries.
) WITH (autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_cost_delay = 0);
CREATE UNIQUE INDEX falfake_requests_seq ON falfake_requests (seq);
CREATE INDEX falfake_requests_queue ON falfake_requests (rank, seq) WHERE status = 0;
CREATE INDEX falfake_requests_eligible
    ON falfake_requests (eligible_at, rank, seq) WHERE status = 0;
CREATE INDEX falfake_requests_deadline ON falfake_requests (start_deadline, request_id)
    WHERE status = 0 AND start_deadline IS NOT NULL;
CREATE INDEX falfake_requests_finish ON falfake_requests (finishes_at, request_id)
    WHERE status = 1;
CREATE INDEX falfake_requests_done ON falfake_requests (completed_at, seq) WHERE status = 2;
CREATE INDEX falfake_requests_webhooks ON falfake_requests (completed_at) WHERE webhook_pending;

CREATE TABLE falfake_images (digest text PRIMARY KEY, data bytea NOT NULL, refs int NOT NULL);

CREATE TABLE falfake_files (
    path text PRIMARY KEY,
    content_type text NOT NULL,
    size bigint NOT NULL,
    created_at float8 NOT NULL,
    data bytea NOT NULL
);
CREATE INDEX falfake_files_age ON falfake_files (created_at, path);
CREATE TABLE falfake_file_totals (
    id int PRIMARY KEY CHECK (id = 1), count int NOT NULL, bytes bigint NOT NULL);
INSERT INTO falfake_file_totals VALUES (1, 0, 0);

CREATE TABLE falfake_tokens (token text PRIMARY KEY, expires_at float8 NOT NULL);
CREATE TABLE falfake_uploads (
    upload_id text PRIMARY KEY,
    path text NOT NULL,
    content_type text NOT NULL,
    created_at float8 NOT NULL
);
CREATE INDEX falfake_uploads_age ON falfake_uploads (created_at);
CREATE TABLE falfake_upload_parts (
    upload_id text NOT NULL REFERENCES falfake_uploads ON DELETE CASCADE,
    number int NOT NULL,
    data bytea NOT NULL,
    PRIMARY KEY (upload_id, number)
);

CREATE FUNCTION falfake_drop_file(p_path text) RETURNS void LANGUAGE sql AS $$
    WITH gone AS (DELETE FROM falfake_files WHERE path = p_path RETURNING size)
    UPDATE falfake_file_totals SET count = count - (SELECT count(*) FROM gone),
        bytes = bytes - (SELECT coalesce(sum(size), 0) FROM gone) WHERE id = 1
$$;

-- Store a file as falfake.media.files.FileStore does: expired files go (a batch at a time, so
-- no put holds the lock long), then the oldest while the count or bytes would pass the limits.
CREATE FUNCTION falfake_put_file(
    p_path text, p_type text, p_data bytea, p_now float8, p_ttl float8, p_max_files int,
    p_max_bytes bigint)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    totals falfake_file_totals%ROWTYPE;
    oldest text;
BEGIN
    PERFORM 1 FROM falfake_file_totals WHERE id = 1 FOR UPDATE;
    FOR oldest IN SELECT path FROM falfake_files WHERE created_at <= p_now - p_ttl
            ORDER BY created_at, path LIMIT 100 LOOP
        PERFORM falfake_drop_file(oldest);
    END LOOP;
    PERFORM falfake_drop_file(p_path);
    LOOP
        SELECT * INTO totals FROM falfake_file_totals WHERE id = 1;
        EXIT WHEN totals.count < p_max_files AND totals.bytes + length(p_data) <= p_max_bytes;
        SELECT path INTO oldest FROM falfake_files ORDER BY created_at, path LIMIT 1;
        EXIT WHEN NOT FOUND;
        PERFORM falfake_drop_file(oldest);
    END LOOP;
    INSERT INTO falfake_files VALUES (p_path, p_type, length(p_data), p_now, p_data);
    UPDATE falfake_file_totals SET count = count + 1, bytes = bytes + length(p_data)
        WHERE id = 1;
END $$;

-- Webhook deliveries still to make: each is one replica's until lease_until, then anyone's.
CREATE TABLE falfake_deliveries (
    request_id text PRIMARY KEY,
    target bytea NOT NULL,  -- a client's text, kept whole
    body bytea NOT NULL,
    attempt int NOT NULL,
    due_at float8 NOT NULL,
    lease_until float8 NOT NULL
);
CREATE INDEX falfake_deliveries_lease ON falfake_deliveries (lease_until);
CREATE TABLE falfake_attempts (
    id bigserial PRIMARY KEY,
    request_id text NOT NULL,
    record text NOT NULL
);
CREATE INDEX falfake_attempts_request ON falfake_attempts (request_id, id);

-- Scenarios, first added first matched; `matched` counts the fleet's matches.
CREATE TABLE falfake_scenarios (
    id bigserial PRIMARY KEY,
    scenario text NOT NULL,  -- as falfake.http.bodies.SCENARIO reads it
    after int NOT NULL,
    times int,
    matched int NOT NULL DEFAULT 0,
    source text  -- the digest of the --scenarios file it came from
);

-- The request journal of every replica (written behind, in batches).
CREATE TABLE falfake_journal (
    id bigserial PRIMARY KEY,
    at float8 NOT NULL,
    method text NOT NULL,
    path bytea NOT NULL,  -- as the client sent it, whatever it holds
    query bytea NOT NULL,
    headers bytea NOT NULL,  -- length-prefixed name/value pairs, secrets left out on reading
    body bytea NOT NULL,
    status int,
    duration_ms float8 NOT NULL,
    request_id text,
    reply bytea NOT NULL DEFAULT ''  -- an event stream's first 64 KiB
);
CREATE INDEX falfake_journal_request ON falfake_journal (request_id) WHERE request_id IS NOT NULL;

-- Rate-limit buckets, one per key for the fleet (keys by their digest: no secret is stored).
CREATE TABLE falfake_buckets (key text PRIMARY KEY, tokens float8 NOT NULL, at float8 NOT NULL);

-- Take a token from `p_key`'s bucket (falfake.queue.rate_limit.RateLimiter's rules): the
-- tokens it held when one was missing, or NULL when it gave one.
CREATE FUNCTION falfake_take_token(p_key text, p_now float8, p_rate float8, p_burst float8)
RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE
    held float8;
BEGIN
    INSERT INTO falfake_buckets VALUES (p_key, p_burst, p_now) ON CONFLICT (key) DO NOTHING;
    SELECT least(p_burst, tokens + (p_now - at) * p_rate) INTO held FROM falfake_buckets
        WHERE key = p_key FOR UPDATE;
    IF held < 1 THEN
        UPDATE falfake_buckets SET tokens = held, at = p_now WHERE key = p_key;
        RETURN held;
    END IF;
    UPDATE falfake_buckets SET tokens = held - 1, at = p_now WHERE key = p_key;
    RETURN NULL;
END $$;

-- The fleet's virtual time (`--clock virtual`), made by the first replica that keeps one.
CREATE TABLE falfake_clock (id int PRIMARY KEY CHECK (id = 1), now float8 NOT NULL);

-- Forget one request, with its share of the images and the counters.
CREATE FUNCTION falfake_forget(p_id text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    gone falfake_requests%ROWTYPE;
BEGIN
    DELETE FROM falfake_requests WHERE request_id = p_id RETURNING * INTO gone;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    UPDATE falfake_queue SET held = held - 1, held_bytes = held_bytes - gone.stored_bytes,
        queued = queued - (gone.status = 0)::int, running = running - (gone.status = 1)::int
        WHERE id = 1;
    UPDATE falfake_images SET refs = refs - 1 WHERE digest = ANY (gone.images);
    DELETE FROM falfake_images WHERE digest = ANY (gone.images) AND refs <= 0;
END $$;

-- Replay the runners' events up to p_now, in time order (falfake.queue.timetable's rules: on a
-- tie a finish frees its runner first, and a start beats its own deadline), then forget
-- finished requests past their time to live, a bounded batch at a time.
CREATE FUNCTION falfake_advance(p_now float8, p_runners int, p_ttl float8)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    q falfake_queue%ROWTYPE;
    found_at float8;
    found_id text;
    ev_kind int;
    ev_at float8;
    ev_id text;
    expired int;
BEGIN
    SELECT * INTO q FROM falfake_queue WHERE id = 1;
    IF q.next_event > p_now AND q.next_expiry > p_now THEN
        RETURN;
    END IF;
    SELECT * INTO q FROM falfake_queue WHERE id = 1 FOR UPDATE;
    IF q.next_event > p_now AND q.next_expiry > p_now THEN
        RETURN;  -- another replica replayed them while this one waited for the lock
    END IF;
    LOOP
        ev_kind := 0;
        ev_at := 'infinity';
        SELECT finishes_at, request_id INTO found_at, found_id FROM falfake_requests
            WHERE status = 1 ORDER BY finishes_at, request_id LIMIT 1;
        IF FOUND THEN
            ev_kind := 1; ev_at := found_at; ev_id := found_id;
        END IF;
        IF q.running < p_runners THEN
            SELECT q.cursor, request_id INTO found_at, found_id FROM falfake_requests
                WHERE status = 0 AND eligible_at <= q.cursor ORDER BY rank, seq LIMIT 1;
            IF NOT FOUND THEN
                SELECT eligible_at, request_id INTO found_at, found_id FROM falfake_requests
                    WHERE status = 0 ORDER BY eligible_at, rank, seq LIMIT 1;
            END IF;
            IF FOUND AND found_at < ev_at THEN
                ev_kind := 2; ev_at := found_at; ev_id := found_id;
            END IF;
        END IF;
        SELECT start_deadline, request_id INTO found_at, found_id FROM falfake_requests
            WHERE status = 0 AND start_deadline IS NOT NULL
            ORDER BY start_deadline, request_id LIMIT 1;
        IF FOUND AND found_at < ev_at THEN
            ev_kind := 3; ev_at := found_at; ev_id := found_id;
        END IF;
        IF ev_kind = 0 OR ev_at > p_now THEN
            q.next_event := ev_at;
            EXIT;
        END IF;
        q.cursor := greatest(q.cursor, ev_at);
        IF ev_kind = 1 THEN
            UPDATE falfake_requests SET status = 2, completed_at = ev_at, ending = 0,
                webhook_pending = webhook_url IS NOT NULL WHERE request_id = ev_id;
            q.running := q.running - 1;
        ELSIF ev_kind = 2 THEN
            UPDATE falfake_requests SET status = 1, started_at = ev_at,
                finishes_at = ev_at + run_seconds WHERE request_id = ev_id;
            q.running := q.running + 1;
            q.queued := q.queued - 1;
        ELSE
            UPDATE falfake_requests SET status = 2, completed_at = ev_at, ending = 1,
                webhook_pending = webhook_url IS NOT NULL WHERE request_id = ev_id;
            q.queued := q.queued - 1;
        END IF;
    END LOOP;
    UPDATE falfake_queue SET cursor = q.cursor, next_event = q.next_event,
        running = q.running, queued = q.queued WHERE id = 1;
    expired := 0;
    -- A bound on the column itself, so the partial index finds the expired ones alone.
    FOR found_id IN SELECT request_id FROM falfake_requests
            WHERE status = 2 AND completed_at <= p_now - p_ttl
            ORDER BY completed_at, seq LIMIT 500 LOOP
        PERFORM falfake_forget(found_id);
        expired := expired + 1;
    END LOOP;
    UPDATE falfake_queue SET next_expiry = CASE WHEN expired = 500 THEN p_now ELSE coalesce(
        (SELECT min(completed_at) FROM falfake_requests WHERE status = 2) + p_ttl, 'infinity')
        END WHERE id = 1;
END $$;

-- When the runners next change something, as the timetable says (next_event in the queue row
-- may be earlier: a submit or cancel only brings it forward).
CREATE FUNCTION falfake_next_event(p_runners int) RETURNS float8 LANGUAGE plpgsql STABLE AS $$
DECLARE
    q falfake_queue%ROWTYPE;
    moment float8;
BEGIN
    SELECT * INTO q FROM falfake_queue WHERE id = 1;
    moment := (SELECT min(finishes_at) FROM falfake_requests WHERE status = 1);
    IF q.running < p_runners THEN
        IF EXISTS (SELECT 1 FROM falfake_requests WHERE status = 0 AND eligible_at <= q.cursor)
        THEN
            moment := least(moment, q.cursor);
        ELSE
            moment := least(moment, (SELECT min(eligible_at) FROM falfake_requests
                WHERE status = 0));
        END IF;
    END IF;
    RETURN least(moment, (SELECT min(start_deadline) FROM falfake_requests WHERE status = 0));
END $$;

-- A request's place in the queue: how many queued requests are served before it.
CREATE FUNCTION falfake_position(p_rank smallint, p_seq bigint) RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT count(*) FROM falfake_requests WHERE status = 0 AND (rank, seq) < (p_rank, p_seq)
$$;

-- Queue a request. outcome: 0 queued, 1 the queue is full (fal's 429).
CREATE FUNCTION falfake_submit(
    p_id text, p_app text, p_endpoint text, p_rank smallint, p_now float8, p_eligible float8,
    p_deadline float8, p_run float8, p_webhook bytea, p_bytes bigint, p_images text[],
    p_image_data bytea[], p_record text, p_max_queue int, p_runners int, p_ttl float8,
    p_max_requests int, p_max_bytes bigint,
    OUT outcome int, OUT seq bigint, OUT queue_position bigint)
LANGUAGE plpgsql AS $$
DECLARE
    q falfake_queue%ROWTYPE;
    oldest text;
BEGIN
    PERFORM falfake_advance(p_now, p_runners, p_ttl);
    SELECT * INTO q FROM falfake_queue WHERE id = 1 FOR UPDATE;
    IF p_max_queue IS NOT NULL AND q.queued >= p_max_queue THEN
        outcome := 1;
        RETURN;
    END IF;
    WHILE q.held >= p_max_requests OR q.held_bytes + p_bytes > p_max_bytes LOOP
        SELECT request_id INTO oldest FROM falfake_requests WHERE status = 2
            ORDER BY completed_at, seq LIMIT 1;
        IF NOT FOUND THEN
            outcome := 1;
            RETURN;
        END IF;
        PERFORM falfake_forget(oldest);
        SELECT * INTO q FROM falfake_queue WHERE id = 1;
    END LOOP;
    seq := nextval('falfake_seq');
    INSERT INTO falfake_requests (request_id, seq, app_id, endpoint_id, rank, submitted_at,
        eligible_at, start_deadline, run_seconds, webhook_url, stored_bytes, images, record)
    VALUES (p_id, seq, p_app, p_endpoint, p_rank, p_now, p_eligible, p_deadline, p_run,
        p_webhook, p_bytes, p_images, p_record);
    INSERT INTO falfake_images
        SELECT digest, data, 1 FROM unnest(p_images, p_image_data) AS i (digest, data)
        ON CONFLICT (digest) DO UPDATE SET refs = falfake_images.refs + 1;
    UPDATE falfake_queue SET queued = queued + 1, held = held + 1,
        held_bytes = held_bytes + p_bytes,
        next_event = least(next_event, p_eligible, coalesce(p_deadline, 'infinity'))
        WHERE id = 1;
    outcome := 0;
    queue_position := falfake_position(p_rank, seq);
END $$;

-- A request as it is at p_now (nothing when unknown); its record only when asked for.
CREATE FUNCTION falfake_status(
    p_id text, p_now float8, p_runners int, p_ttl float8, p_with_record boolean)
RETURNS TABLE (app_id text, status smallint, seq bigint, started_at float8,
    finishes_at float8, completed_at float8, ending smallint, webhook_pending boolean,
    queue_position bigint, record text, images text[])
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM falfake_advance(p_now, p_runners, p_ttl);
    RETURN QUERY SELECT r.app_id, r.status, r.seq, r.started_at, r.finishes_at,
        r.completed_at, r.ending, r.webhook_pending,
        CASE WHEN r.status = 0 THEN falfake_position(r.rank, r.seq) END,
        CASE WHEN p_with_record THEN r.record END, r.images
        FROM falfake_requests r WHERE r.request_id = p_id;
END $$;

-- Cancel at p_now. outcome: 0 cancelled (or signalled), 1 unknown under this app, 2 already
-- COMPLETED.
CREATE FUNCTION falfake_cancel(
    p_app text, p_id text, p_now float8, p_runners int, p_ttl float8, p_honour boolean)
RETURNS int LANGUAGE plpgsql AS $$
DECLARE
    found_app text;
    found_status smallint;
BEGIN
    PERFORM falfake_advance(p_now, p_runners, p_ttl);
    PERFORM 1 FROM falfake_queue WHERE id = 1 FOR UPDATE;
    SELECT app_id, status INTO found_app, found_status FROM falfake_requests
        WHERE request_id = p_id;
    IF NOT FOUND OR found_app <> p_app THEN
        RETURN 1;
    ELSIF found_status = 2 THEN
        RETURN 2;
    ELSIF found_status = 1 AND NOT p_honour THEN
        RETURN 0;  -- the model ignores the signal and finishes as planned
    END IF;
    UPDATE falfake_requests SET status = 2, completed_at = p_now, ending = 2,
        webhook_pending = webhook_url IS NOT NULL WHERE request_id = p_id;
    -- A freed runner may start the next request at once.
    UPDATE falfake_queue SET queued = queued - (found_status = 0)::int,
        running = running - (found_status = 1)::int, next_event = least(next_event, p_now),
        next_expiry = least(next_expiry, p_now + p_ttl)
        WHERE id = 1;
    RETURN 0;
END $$;
"""
