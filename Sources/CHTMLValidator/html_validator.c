#include "html_validator.h"
#include <libxml/HTMLparser.h>
#include <libxml/xmlerror.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    char *buffer;
    int capacity;
    int used;
    int count;
} collector;

static void collect(void *context, xmlErrorPtr error) {
    collector *c = (collector *)context;
    c->count++;
    if (c->used >= c->capacity - 1) return;
    int n = snprintf(c->buffer + c->used, (size_t)(c->capacity - c->used), "line %d: %s",
                     error->line, error->message ? error->message : "?");
    if (n > 0) c->used += (n < c->capacity - c->used) ? n : c->capacity - c->used - 1;
}

int html_validate(const char *html, int length, char *messages, int capacity) {
    collector c = { messages, capacity, 0, 0 };
    if (capacity > 0) messages[0] = 0;
    xmlSetStructuredErrorFunc(&c, collect);
    htmlDocPtr doc = htmlReadMemory(html, length, "report.html", "UTF-8", HTML_PARSE_NONET);
    xmlSetStructuredErrorFunc(NULL, NULL);
    if (!doc) return -1;
    xmlFreeDoc(doc);
    return c.count;
}
