-- Encryption at rest (issue 19, docs/security.md): per-tenant data keys, stored wrapped with a master key of
-- the ring (BFLOW_MASTER_KEYS). A tenant's newest version seals new values; the older ones open what they
-- sealed until `bflow keys rewrap-data` re-encrypts it. `bflow keys rotate` re-wraps the keys (master_key_id,
-- wrapped_key) and rewrites no data.
CREATE TABLE tenant_data_keys (
  tenant         VARCHAR(64)  NOT NULL,
  version        INT          NOT NULL,
  master_key_id  VARCHAR(64)  NOT NULL,
  wrapped_key    VARCHAR(255) NOT NULL,
  created_at     BIGINT       NOT NULL,
  PRIMARY KEY (tenant, version),
  KEY tenant_data_keys_by_master (master_key_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Encrypted columns grow (base64 of nonce, tag and ciphertext: about 4/3 of the text plus 50 characters).
-- A webhook secret is at most 256 characters; a notification title at most 500.
ALTER TABLE webhooks MODIFY secret VARCHAR(1024) NOT NULL;
ALTER TABLE notifications MODIFY title TEXT NOT NULL;
