/* Replays fuzz inputs through a target's LLVMFuzzerTestOneInput without
 * libFuzzer, so the committed corpora (seeds and every crash ever found)
 * run in the ordinary and sanitizer builds of `make check`.
 * Arguments: files or directories of inputs. */
#include <dirent.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path) {
        FILE *f = fopen(path, "rb");
        if (!f) {
                perror(path);
                return 1;
        }
        size_t cap = 1 << 16, len = 0;
        uint8_t *buf = malloc(cap);
        size_t n;
        while (buf && (n = fread(buf + len, 1, cap - len, f)) > 0) {
                len += n;
                if (len == cap) {
                        uint8_t *nb = realloc(buf, cap *= 2);
                        if (!nb) {
                                free(buf);
                                buf = NULL;
                        } else
                                buf = nb;
                }
        }
        fclose(f);
        if (!buf)
                return 1;
        LLVMFuzzerTestOneInput(buf, len);
        free(buf);
        return 0;
}

int main(int argc, char **argv) {
        int bad = 0, count = 0;
        for (int i = 1; i < argc; i++) {
                struct stat st;
                if (stat(argv[i], &st) < 0) {
                        perror(argv[i]);
                        return 1;
                }
                if (!S_ISDIR(st.st_mode)) {
                        bad |= run_file(argv[i]);
                        count++;
                        continue;
                }
                DIR *d = opendir(argv[i]);
                struct dirent *de;
                while (d && (de = readdir(d))) {
                        if (de->d_name[0] == '.')
                                continue;
                        char p[4096];
                        snprintf(p, sizeof(p), "%s/%s", argv[i], de->d_name);
                        bad |= run_file(p);
                        count++;
                }
                if (d)
                        closedir(d);
        }
        printf("replayed %d inputs\n", count);
        return bad || count == 0;
}
