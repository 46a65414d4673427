#include "html_validator.h"
#include <libxml/HTMLparser.h>
#include <libxml/xmlerror.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    char *buffer;
    int capacity;
    int used;
    int count;
} collector;

static void append(collector *c, int line, const char *format, ...) {
    c->count++;
    if (c->used >= c->capacity - 1) return;
    int n = snprintf(c->buffer + c->used, (size_t)(c->capacity - c->used), "line %d: ", line);
    if (n > 0) c->used += (n < c->capacity - c->used) ? n : c->capacity - c->used - 1;
    if (c->used >= c->capacity - 1) return;
    va_list args;
    va_start(args, format);
    n = vsnprintf(c->buffer + c->used, (size_t)(c->capacity - c->used), format, args);
    va_end(args);
    if (n > 0) c->used += (n < c->capacity - c->used) ? n : c->capacity - c->used - 1;
}

/// The SVG elements a report may draw with. libxml2's HTML parser knows HTML 4 only and reports
/// each of them as an unknown tag; they are accepted here, and `check_svg` then requires every one
/// to sit inside an <svg> element and every element inside an <svg> to be one of them. `title` is
/// an HTML element too (the parser knows it), so it is only checked inside <svg>.
static const char *const svg_elements[] = {
    "svg", "g", "defs", "title", "desc", "rect", "line", "polyline", "polygon", "path", "circle", "ellipse",
    "text", "tspan", NULL,
};

static int is_svg_element(const char *name) {
    if (!name) return 0;
    for (const char *const *e = svg_elements; *e; e++) {
        if (strcmp(*e, name) == 0) return 1;
    }
    return 0;
}

static void collect(void *context, xmlErrorPtr error) {
    collector *c = (collector *)context;
    if (error->domain == XML_FROM_HTML && error->code == XML_HTML_UNKNOWN_TAG && is_svg_element(error->str1)) return;
    append(c, error->line, "%s", error->message ? error->message : "?\n");
}

/// Every SVG-only element inside an <svg>, and only SVG elements inside an <svg>.
static void check_svg(collector *c, xmlNodePtr node, int inside) {
    for (; node; node = node->next) {
        if (node->type != XML_ELEMENT_NODE) continue;
        const char *name = (const char *)node->name;
        int line = (int)xmlGetLineNo(node);
        if (inside && !is_svg_element(name)) {
            append(c, line, "Tag %s is not an SVG element, inside <svg>\n", name);
        } else if (!inside && is_svg_element(name) && strcmp(name, "svg") != 0 && strcmp(name, "title") != 0) {
            append(c, line, "Tag %s invalid outside <svg>\n", name);
        }
        check_svg(c, node->children, inside || strcmp(name, "svg") == 0);
    }
}

int html_validate(const char *html, int length, char *messages, int capacity) {
    collector c = { messages, capacity, 0, 0 };
    if (capacity > 0) messages[0] = 0;
    xmlSetStructuredErrorFunc(&c, collect);
    htmlDocPtr doc = htmlReadMemory(html, length, "report.html", "UTF-8", HTML_PARSE_NONET);
    xmlSetStructuredErrorFunc(NULL, NULL);
    if (!doc) return -1;
    check_svg(&c, xmlDocGetRootElement(doc), 0);
    xmlFreeDoc(doc);
    return c.count;
}
