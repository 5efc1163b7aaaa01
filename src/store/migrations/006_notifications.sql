-- Notifications (issue 17): the in-app inbox, the per-channel delivery ledger (exactly once per event, recipient
-- and channel), per-employee preferences and per-tenant settings (templates, channels).

-- In-app notifications. `seq` orders a recipient's notifications and is the SSE event id and the list cursor;
-- `dedupe_key` (<event id>|<recipient>|in_app) makes a redelivered event insert nothing.
CREATE TABLE notifications (
  seq         BIGINT        NOT NULL AUTO_INCREMENT,
  tenant      VARCHAR(64)   NOT NULL,
  recipient   VARCHAR(128)  NOT NULL,
  dedupe_key  VARCHAR(400)  NOT NULL,
  kind        VARCHAR(32)   NOT NULL,
  event_id    VARCHAR(200)  NOT NULL,
  runtime_id  VARCHAR(64)   NOT NULL,
  app         VARCHAR(128)  NOT NULL,
  doc_id      VARCHAR(128)  NOT NULL,
  title       VARCHAR(500)  NOT NULL,
  body        TEXT          NOT NULL,
  link        VARCHAR(2048) NOT NULL,
  created_at  BIGINT        NOT NULL,
  read_at     BIGINT        NULL,
  PRIMARY KEY (seq),
  UNIQUE KEY notifications_dedupe (tenant, dedupe_key),
  KEY notifications_by_recipient (tenant, recipient, seq),
  KEY notifications_unread (tenant, recipient, read_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- One row per (event, recipient, channel) sent outside bflow (email, sms, push). A notifier claims a row
-- (owner, claimed_until) before sending and marks it sent or dead after; a claim past its time may be taken
-- over by another notifier (the first one died mid-delivery).
CREATE TABLE notification_deliveries (
  tenant         VARCHAR(64)   NOT NULL,
  dedupe_key     VARCHAR(400)  NOT NULL,
  channel        VARCHAR(16)   NOT NULL,
  recipient      VARCHAR(128)  NOT NULL,
  status         VARCHAR(16)   NOT NULL,
  owner          VARCHAR(128)  NOT NULL,
  claimed_until  BIGINT        NOT NULL,
  attempts       INT           NOT NULL DEFAULT 0,
  last_error     VARCHAR(1000) NULL,
  event_id       VARCHAR(200)  NOT NULL,
  kind           VARCHAR(32)   NOT NULL,
  created_at     BIGINT        NOT NULL,
  updated_at     BIGINT        NOT NULL,
  PRIMARY KEY (tenant, dedupe_key),
  KEY notification_deliveries_dead (tenant, status, updated_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- An employee's preferences (JSON: channels per notification kind, push device tokens).
CREATE TABLE notification_preferences (
  tenant       VARCHAR(64)   NOT NULL,
  employee_id  VARCHAR(128)  NOT NULL,
  preferences  TEXT          NOT NULL,
  updated_at   BIGINT        NOT NULL,
  PRIMARY KEY (tenant, employee_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- A tenant's notification settings (JSON: channels on/off, templates per kind and channel).
CREATE TABLE notification_settings (
  tenant      VARCHAR(64)  NOT NULL,
  settings    TEXT         NOT NULL,
  updated_at  BIGINT       NOT NULL,
  PRIMARY KEY (tenant)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
