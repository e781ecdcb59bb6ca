-- Collections are named knowledge spaces; projects are free-form namespaces inside them.
CREATE TABLE collections (
    name        text PRIMARY KEY CHECK (name ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
    description text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now()
);

INSERT INTO collections (name, description) VALUES
    ('documents', 'General documents'),
    ('codebase-context', 'Source code and its context'),
    ('skills-patterns', 'Reusable skills and patterns'),
    ('error-solutions', 'Errors and how they were solved'),
    ('best-practices', 'Best practices'),
    ('interaction-history', 'Past agent interactions'),
    ('docs', 'Technical documentation');

CREATE TABLE documents (
    id           uuid PRIMARY KEY,
    collection   text NOT NULL REFERENCES collections (name),
    project      text NOT NULL,
    path         text NOT NULL,
    title        text NOT NULL DEFAULT '',
    content_type text NOT NULL,
    content      text NOT NULL,
    metadata     jsonb NOT NULL DEFAULT '{}'::jsonb,
    status       text NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
    sha256       text NOT NULL,
    version      integer NOT NULL DEFAULT 1,
    -- The version whose chunks are in the vector index (NULL: none yet).
    indexed_version integer,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz,
    UNIQUE (collection, project, path)
);
CREATE INDEX documents_listing ON documents (collection, project, updated_at DESC, id);
CREATE INDEX documents_expiry ON documents (expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE chunks (
    id               uuid PRIMARY KEY,
    document_id      uuid NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    document_version integer NOT NULL,
    position         integer NOT NULL,
    text             text NOT NULL,
    heading_path     text[] NOT NULL DEFAULT '{}',
    token_count      integer NOT NULL,
    UNIQUE (document_id, document_version, position)
);

-- Durable work for the indexer: written in the same transaction as the document change.
CREATE TABLE index_outbox (
    id               bigserial PRIMARY KEY,
    document_id      uuid NOT NULL,
    collection       text NOT NULL,
    operation        text NOT NULL CHECK (operation IN ('index', 'delete')),
    document_version integer,
    attempts         integer NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX index_outbox_due ON index_outbox (next_attempt_at, id);
