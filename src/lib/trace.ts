export interface Trace {
  traceId: string;
  /** Our span: a fresh id, child of the caller's when a valid traceparent came in. */
  spanId: string;
  parentId: string | undefined;
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$/;

/** W3C Trace Context: keep the caller's trace id when its header is valid, else start a trace. */
export function parseTraceparent(header: string | undefined): Trace {
  const match = header ? TRACEPARENT.exec(header.trim()) : null;
  const traceId = match?.[1];
  const parentId = match?.[2];
  // All-zero ids are invalid by the spec.
  if (traceId && parentId && !/^0+$/.test(traceId) && !/^0+$/.test(parentId)) {
    return { traceId, parentId, spanId: randomHex(8) };
  }
  return { traceId: randomHex(16), spanId: randomHex(8), parentId: undefined };
}

function randomHex(bytes: number): string {
  return [...crypto.getRandomValues(new Uint8Array(bytes))].map((b) => b.toString(16).padStart(2, '0')).join('');
}
