import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';

/** Thrown when configuration is invalid; lists every problem at once. */
export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}\nFix the variables above (see .env.example).`);
  }
}

const intString = (name: string, min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, `${name} must be a whole number`)
    .transform(Number)
    .refine((n) => n >= min && n <= max, `${name} must be between ${min} and ${max}`);

const schema = z.object({
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'DATABASE_URL must start with postgres:// or postgresql://')
    .optional(),
  DATABASE_API_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'DATABASE_API_URL must start with postgres:// or postgresql://')
    .optional(),
  DATABASE_CDC_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'DATABASE_CDC_URL must start with postgres:// or postgresql://')
    .optional(),
  DATABASE_FLINK_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'DATABASE_FLINK_URL must start with postgres:// or postgresql://')
    .optional(),
  RTREC_DATA_DIR: z.string().min(1).default('.data'),
  EMBEDDED_PG_PORT: intString('EMBEDDED_PG_PORT', 1024, 65535).default(5433),
  EMBEDDED_PG_DATABASE: z
    .string()
    .regex(/^[a-z_][a-z0-9_]*$/, 'EMBEDDED_PG_DATABASE must be a lowercase identifier')
    .default('rtrec'),
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: intString('PORT', 0, 65535).default(4000),
  ADMIN_TOKEN: z
    .string()
    .refine(() => false, 'ADMIN_TOKEN is no longer used: unset it and send a role token instead (npx rtrec token --role admin)')
    .optional(),
  AUTH_SECRET: z.string().min(32, 'AUTH_SECRET must be at least 32 characters (e.g. openssl rand -base64 32)').optional(),
  AUTH_SECRET_FILE: z.string().min(1).optional(),
  AUTH_JWKS_URL: z
    .string()
    .regex(/^https?:\/\//, 'AUTH_JWKS_URL must start with https:// (or http:// for a local issuer)')
    .optional(),
  AUTH_ISSUER: z.string().min(1).optional(),
  AUTH_AUDIENCE: z.string().min(1).optional(),
  CORS_ORIGINS: z
    .string()
    .regex(
      /^https?:\/\/[^/,\s]+(,https?:\/\/[^/,\s]+)*$/,
      'CORS_ORIGINS must be origins separated by commas, e.g. https://shop.example,http://localhost:3000 (no path, no trailing slash)',
    )
    .optional(),
  ALLOWED_HOSTS: z
    .string()
    .regex(
      /^(\*|[A-Za-z0-9.:[\]-]+(,[A-Za-z0-9.:[\]-]+)*)$/,
      'ALLOWED_HOSTS must be host names separated by commas (without ports), e.g. shop.example,10.0.0.5, or * for any',
    )
    .optional(),
  MAX_BODY_BYTES: intString('MAX_BODY_BYTES', 1024, 64 * 1024 * 1024).default(1024 * 1024),
  WS_MAX_PAYLOAD_BYTES: intString('WS_MAX_PAYLOAD_BYTES', 1024, 16 * 1024 * 1024).default(64 * 1024),
  WS_MAX_SUBSCRIPTIONS: intString('WS_MAX_SUBSCRIPTIONS', 1, 10_000).default(50),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  KAFKA_BROKERS: z
    .string()
    .regex(/^[\w.-]+:\d+(,[\w.-]+:\d+)*$/, 'KAFKA_BROKERS must be host:port[,host:port...]')
    .optional(),
  CONNECT_URL: z
    .string()
    .regex(/^https?:\/\//, 'CONNECT_URL must start with http:// or https://')
    .optional(),
  KAFKA_PORT: intString('KAFKA_PORT', 1024, 65535).default(9092),
  KAFKA_CONTROLLER_PORT: intString('KAFKA_CONTROLLER_PORT', 1024, 65535).default(9093),
  CONNECT_PORT: intString('CONNECT_PORT', 1024, 65535).default(8083),
  KAFKA_HEAP: z
    .string()
    .regex(/^\d+[mg]$/, 'KAFKA_HEAP must look like 512m or 1g')
    .default('512m'),
  CONNECT_HEAP: z
    .string()
    .regex(/^\d+[mg]$/, 'CONNECT_HEAP must look like 512m or 1g')
    .default('512m'),
  FLINK_REST_URL: z
    .string()
    .regex(/^https?:\/\//, 'FLINK_REST_URL must start with http:// or https://')
    .optional(),
  FLINK_SQL_GATEWAY_URL: z
    .string()
    .regex(/^https?:\/\//, 'FLINK_SQL_GATEWAY_URL must start with http:// or https://')
    .optional(),
  FLINK_PORT: intString('FLINK_PORT', 1024, 65535).default(8081),
  FLINK_SQL_GATEWAY_PORT: intString('FLINK_SQL_GATEWAY_PORT', 1024, 65535).default(8084),
  FLINK_RPC_PORT: intString('FLINK_RPC_PORT', 1024, 65520).default(6123),
  FLINK_JM_MEMORY: z
    .string()
    .regex(/^\d+[mg]$/, 'FLINK_JM_MEMORY must look like 768m or 1g')
    .default('768m'),
  FLINK_TM_MEMORY: z
    .string()
    .regex(/^\d+[mg]$/, 'FLINK_TM_MEMORY must look like 1536m or 2g')
    .default('1536m'),
  FLINK_TM_SLOTS: intString('FLINK_TM_SLOTS', 1, 64).default(6),
  FLINK_GATEWAY_HEAP: z
    .string()
    .regex(/^\d+[mg]$/, 'FLINK_GATEWAY_HEAP must look like 384m or 1g')
    .default('384m'),
  FLINK_WATERMARK_DELAY_MS: intString('FLINK_WATERMARK_DELAY_MS', 0, 600000).default(500),
  FRAUD_VELOCITY_MAX_ORDERS: intString('FRAUD_VELOCITY_MAX_ORDERS', 1, 1000).default(5),
  FRAUD_HIGH_VALUE: z
    .string()
    .regex(/^\d+(\.\d{1,2})?$/, 'FRAUD_HIGH_VALUE must be an amount like 2000 or 1999.99')
    .transform(Number)
    .default(2000),
  FRAUD_BURST_COUNT: intString('FRAUD_BURST_COUNT', 2, 1000).default(3),
  FRAUD_BURST_WINDOW_SECONDS: intString('FRAUD_BURST_WINDOW_SECONDS', 1, 86400).default(300),
  REVENUE_WINDOW_SECONDS: intString('REVENUE_WINDOW_SECONDS', 1, 86400).default(60),
  TOP_PRODUCTS_N: intString('TOP_PRODUCTS_N', 1, 100).default(10),
  ALERT_WEBHOOK_URL: z
    .string()
    .regex(/^https?:\/\//, 'ALERT_WEBHOOK_URL must start with http:// or https://')
    .optional(),
  RTREC_ENGINE_CACHE: z.string().min(1).optional(),
  RTREC_PYTHON: z.string().min(1, 'RTREC_PYTHON is empty: unset it (python3 is used) or name a Python 3.11+ interpreter').optional(),
  CDC_TOPIC_PREFIX: z
    .string()
    .regex(/^[a-zA-Z0-9_-]+$/, 'CDC_TOPIC_PREFIX may contain letters, digits, _ and -')
    .default('shop'),
  ENGINE_DB_ADDRESS: z
    .string()
    .regex(/^[A-Za-z0-9.-]+:\d{1,5}$/, 'ENGINE_DB_ADDRESS must be host:port, e.g. postgres:5432')
    .optional(),
  ENGINE_KAFKA_BROKERS: z
    .string()
    .regex(/^[A-Za-z0-9.-]+:\d{1,5}(,[A-Za-z0-9.-]+:\d{1,5})*$/, 'ENGINE_KAFKA_BROKERS must be host:port[,host:port…], e.g. kafka:19092')
    .optional(),
  CDC_SLOT_NAME: z
    .string()
    .regex(/^[a-z0-9_]{1,63}$/, 'CDC_SLOT_NAME may contain lowercase letters, digits and _ (at most 63)')
    .default('rtrec_cdc'),
  GRAPHQL_MAX_DEPTH: intString('GRAPHQL_MAX_DEPTH', 2, 50).default(16),
  RECOMMEND_CACHE_TTL_MS: intString('RECOMMEND_CACHE_TTL_MS', 0, 3_600_000).default(30_000),
  RECOMMEND_REPURCHASABLE_CATEGORIES: z
    .string()
    .regex(/^[1-9]\d{0,9}(,[1-9]\d{0,9})*$/, 'RECOMMEND_REPURCHASABLE_CATEGORIES must be category ids separated by commas, e.g. 3,7')
    .optional(),
  GRAPHQL_MAX_TOKENS: intString('GRAPHQL_MAX_TOKENS', 100, 100000).default(2000),
  METRICS_TOKEN: z.string().min(32, 'METRICS_TOKEN must be at least 32 characters (e.g. openssl rand -base64 32)').optional(),
  METRICS_ENGINE_TIMEOUT_MS: intString('METRICS_ENGINE_TIMEOUT_MS', 10, 10_000).default(500),
});

export type Env = z.input<typeof schema>;

/** Validated application configuration. Built once by the composition root; nothing else reads process.env. */
export interface Config {
  /** An external server's owner (migrations) URL; undefined: the embedded PostgreSQL. */
  databaseUrl: string | undefined;
  /**
   * An external server's least-privilege role URLs (DATABASE_API_URL, DATABASE_CDC_URL, DATABASE_FLINK_URL);
   * a component whose URL is not set connects with DATABASE_URL (with a warning).
   */
  databaseRoleUrls: { api: string | undefined; cdc: string | undefined; flink: string | undefined };
  dataDir: string;
  embeddedPg: { port: number; database: string };
  /**
   * The HTTP server: where it binds, which Host headers it answers (DNS rebinding), which browser origins may
   * call it cross-origin (none by default: same origin only), and the size limits of requests and WebSockets.
   */
  server: {
    host: string;
    port: number;
    /** Host names (no port) the server answers; undefined: loopback names and the bound address. '*' answers any. */
    allowedHosts: string[] | undefined;
    corsOrigins: string[];
    maxBodyBytes: number;
    ws: { maxPayloadBytes: number; maxSubscriptions: number };
  };
  /**
   * Bearer JWT verification: an HS256 secret (AUTH_SECRET, else the file AUTH_SECRET_FILE, by default
   * `<dataDir>/auth/jwt-secret`, generated on first use) or a JWKS URL of an external issuer.
   */
  auth: { secret: string | undefined; secretFile: string; jwksUrl: string | undefined; issuer: string | undefined; audience: string | undefined };
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  graphql: { maxDepth: number; maxTokens: number };
  /**
   * How long a customer's recommendations are served from memory unless their inputs change (0: never), and the
   * categories (consumables) whose products may be recommended again after a purchase.
   */
  recommend: { cacheTtlMs: number; repurchasableCategories: number[] };
  /** Kafka: `external` when KAFKA_BROKERS is set, otherwise the broker `rtrec stack` starts. */
  kafka: { brokers: string[]; external: boolean; port: number; controllerPort: number; heap: string };
  /** Kafka Connect REST: `external` when CONNECT_URL is set. */
  connect: { url: string; external: boolean; port: number; heap: string };
  /**
   * Flink: the JobManager REST API (`restExternal` when FLINK_REST_URL is set) and the SQL gateway
   * (`gatewayExternal` when FLINK_SQL_GATEWAY_URL is set). A managed cluster uses FLINK_RPC_PORT and the
   * next 12 ports for RPC, blob, data and metrics.
   */
  flink: {
    restUrl: string;
    restExternal: boolean;
    gatewayUrl: string;
    gatewayExternal: boolean;
    restPort: number;
    gatewayPort: number;
    rpcPort: number;
    jobManagerMemory: string;
    taskManagerMemory: string;
    slots: number;
    gatewayHeap: string;
  };
  /** Settings of the Flink jobs in flink/ (their `${...}` placeholders) and of the alert webhook. */
  jobs: {
    watermarkDelayMs: number;
    fraudVelocityMaxOrders: number;
    fraudHighValue: number;
    fraudBurstCount: number;
    fraudBurstWindowSeconds: number;
    revenueWindowSeconds: number;
    topN: number;
    alertWebhookUrl: string | undefined;
  };
  /** Where Maven artifacts of the JVM engines are cached, shared by every clone (user-level). */
  engineCache: string;
  /** Python interpreter for the numpy virtualenv (RTREC_PYTHON, default python3). */
  python: string;
  /**
   * How the engines (Kafka Connect, Flink) reach PostgreSQL and Kafka when that differs from how this CLI does,
   * e.g. inside docker compose (postgres:5432, kafka:19092). Unset: the CLI's own addresses.
   */
  engines: { dbAddress: { host: string; port: number } | undefined; kafkaBrokers: string[] | undefined };
  /** Debezium topic prefix and PostgreSQL replication slot (one slot per connector on a server). */
  cdc: { topicPrefix: string; slotName: string };
  /**
   * /metrics: a static scrape secret accepted besides admin and analyst tokens (unset: tokens only), and how long a
   * scrape waits for Flink's and Connect's REST APIs per request.
   */
  metrics: { token: string | undefined; engineTimeoutMs: number };
}

/** Parses and validates configuration from an environment map (process.env by default). */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = schema.safeParse(cleaned);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  }
  const e = parsed.data;
  const roleUrls = ['DATABASE_API_URL', 'DATABASE_CDC_URL', 'DATABASE_FLINK_URL'] as const;
  const strayRoleUrls = e.DATABASE_URL ? [] : roleUrls.filter((name) => e[name] !== undefined);
  if (strayRoleUrls.length) {
    throw new ConfigError(
      strayRoleUrls.map(
        (name) =>
          `${name}: only used with an external server: set DATABASE_URL too (the owner that runs the migrations), or unset ${name} to use the embedded PostgreSQL`,
      ),
    );
  }
  if (e.AUTH_JWKS_URL && (e.AUTH_SECRET || e.AUTH_SECRET_FILE)) {
    throw new ConfigError(['AUTH_JWKS_URL: set either AUTH_JWKS_URL (tokens from an external issuer) or AUTH_SECRET / AUTH_SECRET_FILE (HS256), not both']);
  }
  return {
    databaseUrl: e.DATABASE_URL,
    databaseRoleUrls: { api: e.DATABASE_API_URL, cdc: e.DATABASE_CDC_URL, flink: e.DATABASE_FLINK_URL },
    dataDir: resolve(e.RTREC_DATA_DIR),
    embeddedPg: { port: e.EMBEDDED_PG_PORT, database: e.EMBEDDED_PG_DATABASE },
    server: {
      host: e.HOST,
      port: e.PORT,
      allowedHosts: e.ALLOWED_HOSTS?.split(',').map((h) => h.toLowerCase()),
      corsOrigins: e.CORS_ORIGINS?.split(',') ?? [],
      maxBodyBytes: e.MAX_BODY_BYTES,
      ws: { maxPayloadBytes: e.WS_MAX_PAYLOAD_BYTES, maxSubscriptions: e.WS_MAX_SUBSCRIPTIONS },
    },
    auth: {
      secret: e.AUTH_SECRET,
      secretFile: resolve(e.AUTH_SECRET_FILE ?? join(resolve(e.RTREC_DATA_DIR), 'auth', 'jwt-secret')),
      jwksUrl: e.AUTH_JWKS_URL,
      issuer: e.AUTH_ISSUER,
      audience: e.AUTH_AUDIENCE,
    },
    logLevel: e.LOG_LEVEL,
    graphql: { maxDepth: e.GRAPHQL_MAX_DEPTH, maxTokens: e.GRAPHQL_MAX_TOKENS },
    recommend: { cacheTtlMs: e.RECOMMEND_CACHE_TTL_MS, repurchasableCategories: e.RECOMMEND_REPURCHASABLE_CATEGORIES?.split(',').map(Number) ?? [] },
    kafka: {
      brokers: e.KAFKA_BROKERS ? e.KAFKA_BROKERS.split(',') : [`127.0.0.1:${e.KAFKA_PORT}`],
      external: e.KAFKA_BROKERS !== undefined,
      port: e.KAFKA_PORT,
      controllerPort: e.KAFKA_CONTROLLER_PORT,
      heap: e.KAFKA_HEAP,
    },
    connect: {
      url: (e.CONNECT_URL ?? `http://127.0.0.1:${e.CONNECT_PORT}`).replace(/\/+$/, ''),
      external: e.CONNECT_URL !== undefined,
      port: e.CONNECT_PORT,
      heap: e.CONNECT_HEAP,
    },
    flink: {
      restUrl: (e.FLINK_REST_URL ?? `http://127.0.0.1:${e.FLINK_PORT}`).replace(/\/+$/, ''),
      restExternal: e.FLINK_REST_URL !== undefined,
      gatewayUrl: (e.FLINK_SQL_GATEWAY_URL ?? `http://127.0.0.1:${e.FLINK_SQL_GATEWAY_PORT}`).replace(/\/+$/, ''),
      gatewayExternal: e.FLINK_SQL_GATEWAY_URL !== undefined,
      restPort: e.FLINK_PORT,
      gatewayPort: e.FLINK_SQL_GATEWAY_PORT,
      rpcPort: e.FLINK_RPC_PORT,
      jobManagerMemory: e.FLINK_JM_MEMORY,
      taskManagerMemory: e.FLINK_TM_MEMORY,
      slots: e.FLINK_TM_SLOTS,
      gatewayHeap: e.FLINK_GATEWAY_HEAP,
    },
    jobs: {
      watermarkDelayMs: e.FLINK_WATERMARK_DELAY_MS,
      fraudVelocityMaxOrders: e.FRAUD_VELOCITY_MAX_ORDERS,
      fraudHighValue: e.FRAUD_HIGH_VALUE,
      fraudBurstCount: e.FRAUD_BURST_COUNT,
      fraudBurstWindowSeconds: e.FRAUD_BURST_WINDOW_SECONDS,
      revenueWindowSeconds: e.REVENUE_WINDOW_SECONDS,
      topN: e.TOP_PRODUCTS_N,
      alertWebhookUrl: e.ALERT_WEBHOOK_URL,
    },
    engineCache: resolve(e.RTREC_ENGINE_CACHE ?? join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'rtrec', 'engines')),
    /** The interpreter that gets a numpy virtualenv in the engine cache (EASE's linear algebra). */
    python: e.RTREC_PYTHON ?? 'python3',
    cdc: { topicPrefix: e.CDC_TOPIC_PREFIX, slotName: e.CDC_SLOT_NAME },
    metrics: { token: e.METRICS_TOKEN, engineTimeoutMs: e.METRICS_ENGINE_TIMEOUT_MS },
    engines: {
      dbAddress: e.ENGINE_DB_ADDRESS ? { host: e.ENGINE_DB_ADDRESS.replace(/:\d+$/, ''), port: Number(e.ENGINE_DB_ADDRESS.replace(/^.*:/, '')) } : undefined,
      kafkaBrokers: e.ENGINE_KAFKA_BROKERS?.split(','),
    },
  };
}

/** True when the host only accepts connections from this machine. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}
