/** One data point per request. Analytics Engine in production; nothing when the binding is absent. */
export interface RequestMetric {
  route: string;
  method: string;
  status: number;
  durationMs: number;
  neonCount: number;
  neonMs: number;
  upstashCount: number;
  upstashMs: number;
}

export interface MetricsSink {
  record(metric: RequestMetric): void;
}

export const noMetrics: MetricsSink = { record: () => undefined };

export function analyticsEngineMetrics(dataset: AnalyticsEngineDataset): MetricsSink {
  return {
    record(m) {
      // Blobs are dimensions, doubles are measures; the index is the sampling key.
      dataset.writeDataPoint({
        indexes: [m.route],
        blobs: [m.route, m.method, String(m.status)],
        doubles: [m.durationMs, m.neonCount, m.neonMs, m.upstashCount, m.upstashMs, m.status],
      });
    },
  };
}
