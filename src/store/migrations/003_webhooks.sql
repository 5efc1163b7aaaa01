-- Webhook registrations (POST /api/v1/webhooks) and the index of the analytics read.

-- A tenant's webhooks; `events` is a JSON array of event types ("*" = all). The secret signs deliveries
-- (HMAC-SHA256) and so is stored as given; the API never returns it.
CREATE TABLE webhooks (
  tenant      VARCHAR(64)   NOT NULL,
  id          VARCHAR(64)   NOT NULL,
  url         VARCHAR(2048) NOT NULL,
  events      TEXT          NOT NULL,
  secret      VARCHAR(256)  NOT NULL,
  created_at  BIGINT        NOT NULL,
  PRIMARY KEY (tenant, id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- GET /api/v1/analytics/workflows/{id} reads a workflow's newest runtimes. The indexed columns never change
-- after the insert, so updates of a runtime's state don't touch this index.
CREATE INDEX runtimes_by_workflow ON runtimes (tenant, workflow_id, created_at);
