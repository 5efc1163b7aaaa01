/**
 * The master key ring every bflow process a test or bench starts on a cluster runs with (BFLOW_MASTER_KEYS,
 * docs/security.md): fixed, so that processes sharing a database agree. A test key; never use it for real data.
 */
export const TEST_MASTER_KEYS = 'test-1:gEvLtMrVu07oJ60cx0xF/QK2DAdAjhO4evaJ3ktjaNE=';
