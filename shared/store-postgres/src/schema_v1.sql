-- Version 1: state, leases, audit, the delay queue, and the gate function.
-- {name} placeholders are replaced by the deployment's qualified table names
-- ({prefix}: the bare prefix, for index names, which take no schema).

-- Every state record of every tenant. Expiry is logical (each statement
-- compares expires_at with the gateway's clock) and physical (the reaper's
-- batched deletes, through the partial index).
CREATE TABLE {state} (
    namespace  text        COLLATE "C" NOT NULL,
    tenant     text        COLLATE "C" NOT NULL,
    kind       text        COLLATE "C" NOT NULL,
    id         text        COLLATE "C" NOT NULL,
    value      text        NOT NULL,
    -- Window counters (throttle, quota); NULL for other records.
    counter    bigint,
    version    bigint      NOT NULL,
    expires_at timestamptz,
    PRIMARY KEY (namespace, tenant, kind, id)
);
CREATE INDEX {prefix}state_expiry ON {state} (expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE {leases} (
    name       text        PRIMARY KEY,
    owner      text        NOT NULL,
    expires_at timestamptz NOT NULL
);

-- One row per audit record: the filterable fields as columns, the record
-- itself as JSON. Ids are UUIDv7 strings, so id order is time order; keys
-- compare byte by byte (COLLATE "C"), as the other adapters order them.
CREATE TABLE {audit} (
    id           text        COLLATE "C" PRIMARY KEY,
    namespace    text        NOT NULL,
    tenant       text        NOT NULL,
    provider     text        NOT NULL,
    action_type  text        NOT NULL,
    outcome      text        NOT NULL,
    verdict      text        NOT NULL,
    matched_rule text,
    chain_id     text,
    action_id    text        NOT NULL,
    expires_at   timestamptz,
    record       jsonb       NOT NULL
);
CREATE INDEX {prefix}audit_scope  ON {audit} (namespace, tenant, id DESC);
CREATE INDEX {prefix}audit_action ON {audit} (action_id, id DESC);
CREATE INDEX {prefix}audit_chain  ON {audit} (chain_id, id DESC) WHERE chain_id IS NOT NULL;
CREATE INDEX {prefix}audit_expiry ON {audit} (expires_at) WHERE expires_at IS NOT NULL;

-- Delayed messages for the local worker. A taken message's deliver_at moves
-- past the visibility timeout, so a process that dies while handling it
-- leaves it to be delivered again (as SQS does).
CREATE TABLE {queue} (
    seq        bigserial   PRIMARY KEY,
    message_id text        NOT NULL,
    kind       text        NOT NULL,
    message    jsonb       NOT NULL,
    deliver_at timestamptz NOT NULL,
    deliveries integer     NOT NULL DEFAULT 0
);
CREATE INDEX {prefix}queue_due ON {queue} (deliver_at, seq);

-- The atomic gate: every op applied, or none. Ops are
-- {"op": "claim"|"count", "ns", "tenant", "kind", "id", "exp", "limit"}.
-- On the first op whose condition fails the block raises SY001, which rolls
-- back what the earlier ops wrote; the function answers that op's index and,
-- for a counter, its live value. (PL/pgSQL keeps variables across the
-- rollback of a block.)
CREATE FUNCTION {gate}(ops jsonb, clock_now timestamptz)
RETURNS TABLE (failed integer, current bigint)
LANGUAGE plpgsql AS $$
DECLARE
    op jsonb;
    i integer := 0;
    touched integer;
    lim bigint;
BEGIN
    failed := NULL;
    current := NULL;
    BEGIN
        FOR op IN SELECT value FROM jsonb_array_elements(ops) LOOP
            IF op->>'op' = 'claim' THEN
                INSERT INTO {state} AS s (namespace, tenant, kind, id, value, version, expires_at)
                VALUES (op->>'ns', op->>'tenant', op->>'kind', op->>'id', '1', 1, (op->>'exp')::timestamptz)
                ON CONFLICT (namespace, tenant, kind, id) DO UPDATE
                    SET value = '1', counter = NULL, version = 1, expires_at = EXCLUDED.expires_at
                    WHERE s.expires_at IS NOT NULL AND s.expires_at <= clock_now;
                GET DIAGNOSTICS touched = ROW_COUNT;
                IF touched = 0 THEN
                    failed := i;
                    RAISE EXCEPTION USING ERRCODE = 'SY001';
                END IF;
            ELSE
                lim := (op->>'limit')::bigint;
                IF lim > 0 THEN
                    INSERT INTO {state} AS s (namespace, tenant, kind, id, value, counter, version, expires_at)
                    VALUES (op->>'ns', op->>'tenant', op->>'kind', op->>'id', '1', 1, 1, (op->>'exp')::timestamptz)
                    ON CONFLICT (namespace, tenant, kind, id) DO UPDATE
                        SET counter = CASE WHEN s.expires_at IS NULL OR s.expires_at > clock_now
                                           THEN coalesce(s.counter, 0) + 1 ELSE 1 END,
                            value = (CASE WHEN s.expires_at IS NULL OR s.expires_at > clock_now
                                          THEN coalesce(s.counter, 0) + 1 ELSE 1 END)::text,
                            version = CASE WHEN s.expires_at IS NULL OR s.expires_at > clock_now
                                           THEN s.version + 1 ELSE 1 END,
                            expires_at = CASE WHEN s.expires_at IS NULL OR s.expires_at > clock_now
                                              THEN s.expires_at ELSE EXCLUDED.expires_at END
                        WHERE s.expires_at <= clock_now OR coalesce(s.counter, 0) < lim;
                    GET DIAGNOSTICS touched = ROW_COUNT;
                ELSE
                    touched := 0;
                END IF;
                IF touched = 0 THEN
                    failed := i;
                    SELECT coalesce(s.counter, 0) INTO current FROM {state} s
                    WHERE s.namespace = op->>'ns' AND s.tenant = op->>'tenant'
                      AND s.kind = op->>'kind' AND s.id = op->>'id'
                      AND (s.expires_at IS NULL OR s.expires_at > clock_now);
                    current := coalesce(current, 0);
                    RAISE EXCEPTION USING ERRCODE = 'SY001';
                END IF;
            END IF;
            i := i + 1;
        END LOOP;
    EXCEPTION WHEN SQLSTATE 'SY001' THEN
        NULL;
    END;
    RETURN NEXT;
END
$$;
