/* The subset of Go's text/template that docker's --format / -f use:
 *   {{.Field}} {{.A.B}} {{json .}} {{json .Config}} {{.Field | json}}
 *   {{range .List}}...{{end}} {{range $k, $v := .Map}}...{{end}}
 *   {{if .X}}...{{else}}...{{end}} {{index .Map "key"}} {{index .List 0}}
 *   {{join .List ", "}} {{lower .X}} {{upper .X}} {{title .X}}
 *   {{split .X ":"}} {{len .X}} {{println ...}} {{printf "%s" .X}}
 *   {{- trims -}} and "table" prefixes (handled by the caller).
 * Values are JSON (jansson); numbers print like Go prints them. */
#pragma once

#include <jansson.h>

struct berr;
struct tmpl;

/* Parse; -EINVAL with "template parsing error: ..." on a bad template. */
int tmpl_parse(const char *text, struct tmpl **ret, struct berr *err);
/* Render against `data`; output appended to *buf/len (malloc'ed).
 * "template: executing ...: ..." errors like Go's. */
int tmpl_render(const struct tmpl *t, json_t *data, char **buf, size_t *len,
                struct berr *err);
struct tmpl *tmpl_free(struct tmpl *t);
