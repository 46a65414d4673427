#ifndef HTML_VALIDATOR_H
#define HTML_VALIDATOR_H

/// Parses `html` with libxml2's HTML parser (no network). Writes the parser's errors and warnings,
/// one per line, into `messages` (truncated to `capacity` bytes) and returns how many there were,
/// or -1 when no document could be built.
int html_validate(const char *html, int length, char *messages, int capacity);

#endif
