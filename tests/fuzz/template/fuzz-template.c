/* Fuzz target: the CLI's --format template engine, parsing the input and
 * rendering it against a document shaped like `inspect` output. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "template.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static json_t *doc;
        if (!doc)
                doc = json_loads(
                        "{\"Id\":\"abc\",\"Name\":\"/n\",\"State\":{\"Running\""
                        ":true,\"ExitCode\":0,\"Pid\":42},\"Config\":{\"Cmd\":"
                        "[\"sh\",\"-c\",\"x\"],\"Labels\":{\"a\":\"1\",\"b\":"
                        "\"2\"},\"Env\":[]},\"Size\":1.5,\"Nil\":null}",
                        0, NULL);
        char *text = malloc(size + 1);
        if (!text)
                return 0;
        memcpy(text, data, size);
        text[size] = '\0';
        struct tmpl *t = NULL;
        struct berr e = {0};
        if (tmpl_parse(text, &t, &e) == 0) {
                char *buf = NULL;
                size_t len = 0;
                tmpl_render(t, doc, &buf, &len, &e);
                free(buf);
                tmpl_free(t);
        }
        free(text);
        return 0;
}
