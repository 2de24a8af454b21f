export * from './types.ts';
export { DecodeError, MAX_NODES_PER_TOPOLOGY, decodeReport, reportFromValue, type DecodeOptions, type ReportEncoding } from './decode.ts';
export { encodeReport, reportToJSON, reportToWire, type EncodeOptions, type EncodedReport } from './encode.ts';
export { mergeInto, mergeReports, mergeNode, mergeMetric, mergeTopology, cloneNode, union, MAX_SAMPLES } from './merge.ts';
export { goBinaryTime, parseGoBinaryTime, parseRFC3339, formatRFC3339, GO_ZERO_TIME_MS } from './time.ts';
export { decodeMsgpack, encodeMsgpack, MsgpackError } from './msgpack.ts';
