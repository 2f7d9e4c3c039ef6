#ifndef CALLAUDIT_CRDKAFKA_SHIM_H
#define CALLAUDIT_CRDKAFKA_SHIM_H

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

/* Swift cannot import the RD_KAFKA_OFFSET_* macros built from casts. */
static inline int64_t callaudit_rd_kafka_offset_beginning(void) { return RD_KAFKA_OFFSET_BEGINNING; }
static inline int64_t callaudit_rd_kafka_offset_end(void) { return RD_KAFKA_OFFSET_END; }
static inline int64_t callaudit_rd_kafka_offset_invalid(void) { return RD_KAFKA_OFFSET_INVALID; }
static inline int32_t callaudit_rd_kafka_partition_ua(void) { return RD_KAFKA_PARTITION_UA; }

#endif
