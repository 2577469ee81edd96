/*
 * Fuzz target "codec": arbitrary bytes as a Kafka message value through
 * ql_codec_decode(), the single-object Avro decoder every consumer runs on
 * whatever is in the topic.  Beyond "no crash, no leak, no read past the
 * end": a failure leaves no document and a reason that is valid UTF-8 (the
 * triage stores it in ql.rejected_record.error, a text column); a success
 * gives an object; a decoded document that validates must encode; and any
 * decoded document the encoder takes decodes back to an equal document.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "codec_once.h"
#include "fuzz_target.h"
#include "ql_codec.h"
#include "ql_result.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const ql_codec_t *codec = codec_once();
        char err[512] = "";
        json_t *doc = NULL;

        if (ql_codec_decode(codec, data, size, &doc, err, sizeof(err)) != 0) {
                FUZZ_CHECK(doc == NULL);
                FUZZ_CHECK(err[0] != '\0');
                FUZZ_CHECK(ql_result_utf8_valid(err, strlen(err)));
                return 0;
        }
        FUZZ_CHECK(json_is_object(doc));

        ql_result_opts_t warn = {.uscc_mode = QL_USCC_WARN};
        size_t nerrors = ql_result_validate(doc, &warn, NULL, NULL);

        unsigned char *msg = NULL;
        size_t len = 0;
        if (ql_codec_encode(codec, doc, &msg, &len, err, sizeof(err)) == 0) {
                json_t *again = NULL;
                FUZZ_CHECK(ql_codec_decode(codec, msg, len, &again, err,
                                           sizeof(err)) == 0);
                FUZZ_CHECK(json_equal(doc, again));
                json_decref(again);
                free(msg);
        } else {
                FUZZ_CHECK(msg == NULL);
                FUZZ_CHECK(nerrors > 0);
        }
        json_decref(doc);
        return 0;
}
