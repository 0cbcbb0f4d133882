#include "opts.h"

#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void opts_usage(const struct cmd_spec *spec, const struct opt *opts) {
        printf("\nUsage:  berth %s %s\n\n%s\n", spec->name, spec->usage,
               spec->summary);
        if (!opts || !opts[0].lng)
                return;
        printf("\nOptions:\n");
        for (const struct opt *o = opts; o->lng; o++) {
                char left[64];
                const char *ty = o->kind == OPT_BOOL   ? ""
                                 : o->kind == OPT_LIST ? " list"
                                 : o->kind == OPT_INT  ? " int"
                                                       : " string";
                if (o->shrt)
                        snprintf(left, sizeof(left), "  -%c, --%s%s", o->shrt,
                                 o->lng, ty);
                else
                        snprintf(left, sizeof(left), "      --%s%s", o->lng,
                                 ty);
                printf("%-32s %s\n", left, o->help ? o->help : "");
        }
}

static int usage_error(const struct cmd_spec *spec, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
static int usage_error(const struct cmd_spec *spec, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        fprintf(stderr, "berth: ");
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fprintf(stderr, "\n\nRun 'berth %s --help' for more information\n",
                spec->name);
        return -1;
}

static int set_value(const struct cmd_spec *spec, const struct opt *o,
                     const char *v) {
        switch (o->kind) {
        case OPT_BOOL:
                if (!v || !strcmp(v, "true") || !strcmp(v, "1"))
                        *(bool *) o->dest = true;
                else if (!strcmp(v, "false") || !strcmp(v, "0"))
                        *(bool *) o->dest = false;
                else
                        return usage_error(spec,
                                           "invalid argument \"%s\": "
                                           "strconv.ParseBool: parsing "
                                           "failed",
                                           v);
                return 0;
        case OPT_STR:
                *(const char **) o->dest = v;
                return 0;
        case OPT_LIST:
                return strv_push((char ***) o->dest, v) < 0 ? -1 : 0;
        case OPT_INT: {
                char *end;
                errno = 0;
                long n = strtol(v, &end, 10);
                if (errno || *end || end == v)
                        return usage_error(spec,
                                           "invalid argument \"%s\": "
                                           "invalid syntax",
                                           v);
                *(long *) o->dest = n;
                return 0;
        }
        }
        return 0;
}

int opts_parse(const struct cmd_spec *spec, const struct opt *opts, int argc,
               char **argv, char ***ret_args) {
        char **pos = calloc((size_t) argc + 1, sizeof(char *));
        int npos = 0;
        bool only_pos = false;
        for (int i = 1; i < argc; i++) {
                char *a = argv[i];
                if (only_pos || a[0] != '-' || !a[1]) {
                        pos[npos++] = a;
                        if (spec->stop_at_positional)
                                only_pos = true;
                        continue;
                }
                if (!strcmp(a, "--")) {
                        only_pos = true;
                        continue;
                }
                if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
                        /* -h is --hostname for run/create. */
                        bool is_host = false;
                        for (const struct opt *o = opts; o && o->lng; o++)
                                if (o->shrt == 'h' && a[1] == 'h')
                                        is_host = true;
                        if (!is_host) {
                                opts_usage(spec, opts);
                                free(pos);
                                return -2;
                        }
                }
                if (a[1] == '-') {
                        const char *name = a + 2;
                        const char *eq = strchr(name, '=');
                        size_t nl = eq ? (size_t) (eq - name) : strlen(name);
                        const struct opt *o = opts;
                        for (; o && o->lng; o++)
                                if (strlen(o->lng) == nl &&
                                    !strncmp(o->lng, name, nl))
                                        break;
                        if (!o || !o->lng) {
                                free(pos);
                                return usage_error(spec, "unknown flag: %s", a);
                        }
                        const char *v = eq ? eq + 1 : NULL;
                        if (!v && o->kind != OPT_BOOL) {
                                if (i + 1 >= argc) {
                                        free(pos);
                                        return usage_error(
                                                spec,
                                                "flag needs an argument: %s",
                                                a);
                                }
                                v = argv[++i];
                        }
                        if (set_value(spec, o, v) < 0) {
                                free(pos);
                                return -1;
                        }
                        continue;
                }
                /* Short flags, possibly grouped. */
                for (char *c = a + 1; *c; c++) {
                        const struct opt *o = opts;
                        for (; o && o->lng; o++)
                                if (o->shrt == *c)
                                        break;
                        if (!o || !o->lng) {
                                char m[8] = {'-', *c, 0};
                                free(pos);
                                return usage_error(
                                        spec, "unknown shorthand flag: %s", m);
                        }
                        if (o->kind == OPT_BOOL) {
                                if (c[1] == '=') {
                                        if (set_value(spec, o, c + 2) < 0) {
                                                free(pos);
                                                return -1;
                                        }
                                        break;
                                }
                                *(bool *) o->dest = true;
                                continue;
                        }
                        const char *v = c[1] ? c + 1 : NULL;
                        if (v && *v == '=')
                                v++;
                        if (!v) {
                                if (i + 1 >= argc) {
                                        char m[8] = {'-', *c, 0};
                                        free(pos);
                                        return usage_error(
                                                spec,
                                                "flag needs an argument: %s",
                                                m);
                                }
                                v = argv[++i];
                        }
                        if (set_value(spec, o, v) < 0) {
                                free(pos);
                                return -1;
                        }
                        break;
                }
        }
        if (npos < spec->min_args ||
            (spec->max_args >= 0 && npos > spec->max_args)) {
                if (spec->max_args == 0)
                        fprintf(stderr, "\"berth %s\" accepts no arguments.",
                                spec->name);
                else if (npos < spec->min_args && spec->min_args == 1)
                        fprintf(stderr,
                                "\"berth %s\" requires at least 1 argument.",
                                spec->name);
                else if (npos < spec->min_args)
                        fprintf(stderr,
                                "\"berth %s\" requires at least %d "
                                "arguments.",
                                spec->name, spec->min_args);
                else
                        fprintf(stderr,
                                "\"berth %s\" requires at most %d "
                                "argument%s.",
                                spec->name, spec->max_args,
                                spec->max_args == 1 ? "" : "s");
                fprintf(stderr,
                        "\nSee 'berth %s --help'.\n\nUsage:  berth %s "
                        "%s\n\n%s\n",
                        spec->name, spec->name, spec->usage, spec->summary);
                free(pos);
                return -1;
        }
        *ret_args = pos;
        return npos;
}

long long parse_size(const char *s) {
        char *end;
        errno = 0;
        double v = strtod(s, &end);
        if (errno || end == s || v < 0)
                return -1;
        long long mul = 1;
        switch (tolower((unsigned char) *end)) {
        case '\0':
                break;
        case 'b':
                break;
        case 'k':
                mul = 1024;
                break;
        case 'm':
                mul = 1024 * 1024;
                break;
        case 'g':
                mul = 1024LL * 1024 * 1024;
                break;
        case 't':
                mul = 1024LL * 1024 * 1024 * 1024;
                break;
        default:
                return -1;
        }
        if (*end && end[1] &&
            !(tolower((unsigned char) end[1]) == 'b' && !end[2]))
                return -1;
        return (long long) (v * (double) mul);
}
