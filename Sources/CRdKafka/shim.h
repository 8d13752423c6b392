// AuditTrail — librdkafka system library shim.
// SPDX-License-Identifier: Apache-2.0
#pragma once
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

/// rd_kafka_producev is variadic, which Swift cannot call: this fixed-arity wrapper
/// produces one message with optional headers, whose ownership passes to librdkafka on
/// success. The key is copied; the value is copied (RD_KAFKA_MSG_F_COPY) or, with
/// RD_KAFKA_MSG_F_FREE, taken over (it must come from malloc, and librdkafka frees it after
/// delivery; on an error return it is still the caller's).
static inline rd_kafka_resp_err_t audit_produce(rd_kafka_t *rk, const char *topic, int32_t partition,
                                                const void *key, size_t key_len,
                                                const void *value, size_t value_len,
                                                rd_kafka_headers_t *headers, int64_t timestamp,
                                                void *opaque, int value_flags) {
    return rd_kafka_producev(rk,
                             RD_KAFKA_V_TOPIC(topic),
                             RD_KAFKA_V_PARTITION(partition),
                             RD_KAFKA_V_MSGFLAGS(value_flags),
                             RD_KAFKA_V_KEY(key, key_len),
                             RD_KAFKA_V_VALUE((void *)value, value_len),
                             RD_KAFKA_V_HEADERS(headers),
                             RD_KAFKA_V_TIMESTAMP(timestamp),
                             RD_KAFKA_V_OPAQUE(opaque),
                             RD_KAFKA_V_END);
}

/// rd_kafka_mock_broker_push_request_error_rtts is variadic as well: this wrapper delays the
/// next response of broker `broker_id` to a request with `api_key` by `rtt_ms` (no error).
/* Makes the next `count` requests with `api_key` to `broker_id` fail with `err`, each answered
 * after `rtt_ms`. */
static inline rd_kafka_resp_err_t audit_mock_fail_next_requests(rd_kafka_mock_cluster_t *mcluster,
                                                                int32_t broker_id, int16_t api_key,
                                                                rd_kafka_resp_err_t err, int count,
                                                                int rtt_ms) {
    for (int i = 0; i < count; i++) {
        rd_kafka_resp_err_t result =
            rd_kafka_mock_broker_push_request_error_rtts(mcluster, broker_id, api_key, 1, err, rtt_ms);
        if (result != RD_KAFKA_RESP_ERR_NO_ERROR) return result;
    }
    return RD_KAFKA_RESP_ERR_NO_ERROR;
}

static inline rd_kafka_resp_err_t audit_mock_delay_next_response(rd_kafka_mock_cluster_t *mcluster,
                                                                 int32_t broker_id, int16_t api_key,
                                                                 int rtt_ms) {
    return rd_kafka_mock_broker_push_request_error_rtts(mcluster, broker_id, api_key, 1,
                                                        RD_KAFKA_RESP_ERR_NO_ERROR, rtt_ms);
}
