/* Random container names ("brave_lovelace"), berth's own word lists. */
#pragma once
#include <stddef.h>

void names_random(char *buf, size_t size);
