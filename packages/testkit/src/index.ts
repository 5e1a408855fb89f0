export { freePort } from './free-port.js';
export { EventLog, linesOf } from './event-log.js';
export { RedisServer, type RedisServerOptions } from './redis-server.js';
export {
  GatewayProcess,
  GATEWAY_ENTRY,
  GATEWAY_NODE_FLAGS,
  LIFTED_ADDRESS_LIMITS,
  QUIET_GATEWAY_ENV,
  type GatewayOptions,
  type LogLine,
} from './gateway-process.js';
export { ChatClient, FRAME_TIMEOUT_MS, type ChatClientOptions, type CloseInfo } from './chat-client.js';
export { watch, type Subscribable, type Watcher } from './next-event.js';
export { HaproxyProcess, isServerUp, type HaproxyOptions, type ServerStat } from './haproxy-process.js';
export {
  LocalCluster,
  HAPROXY_CONFIG,
  GATEWAYS_BACKEND,
  localBackendConfig,
  type LocalClusterOptions,
  type LocalRedis,
} from './local-cluster.js';
export { SEED_STYLE_PAGE_DIR } from './fixtures.js';
export { makeTestCertificates, DEV_CERT_SCRIPT, type TestCertificates } from './certificates.js';
export { httpGet, type HttpAnswer, type HttpGetOptions } from './http-get.js';
export { parsePrometheusText, scrape, type MetricSample, type Scrape } from './prometheus-text.js';
export { RedisCluster, parseClusterNodes, type RedisClusterOptions, type ClusterNodeLine } from './redis-cluster.js';
export { RedisSentinelGroup, type RedisSentinelGroupOptions } from './redis-sentinel-group.js';
export { TcpProxy, REPLICATION_LINK, redisConnectionNamed, type TcpProxyOptions, type ConnectionFilter } from './tcp-proxy.js';
export { keySlot, CLUSTER_SLOTS } from './key-slot.js';
export { eventually, EVENTUALLY_TIMEOUT_MS, EVENTUALLY_INTERVAL_MS, type EventuallyOptions, type Truthy } from './eventually.js';
export { within } from './within.js';
