#include "digest.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <unistd.h>

struct digest {
        EVP_MD_CTX *ctx;
};

struct digest *digest_new(void) {
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        if (!ctx)
                return NULL;
        if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
                EVP_MD_CTX_free(ctx);
                return NULL;
        }
        return (struct digest *) ctx;
}

void digest_update(struct digest *d, const void *buf, size_t len) {
        EVP_DigestUpdate((EVP_MD_CTX *) d, buf, len);
}

void digest_final(struct digest *d, char out[72]) {
        unsigned char md[32];
        unsigned int n = 0;
        EVP_DigestFinal_ex((EVP_MD_CTX *) d, md, &n);
        EVP_MD_CTX_free((EVP_MD_CTX *) d);
        int p = snprintf(out, 72, "sha256:");
        for (unsigned i = 0; i < 32; i++)
                p += snprintf(out + p, 72 - (size_t) p, "%02x", md[i]);
}

int digest_fd(int fd, char out[72]) {
        struct digest *d = digest_new();
        if (!d)
                return -1;
        char buf[65536];
        ssize_t n;
        while ((n = read(fd, buf, sizeof(buf))) > 0)
                digest_update(d, buf, (size_t) n);
        digest_final(d, out);
        return n < 0 ? -1 : 0;
}

void digest_buf(const void *buf, size_t len, char out[72]) {
        struct digest *d = digest_new();
        if (!d) {
                out[0] = '\0';
                return;
        }
        digest_update(d, buf, len);
        digest_final(d, out);
}
