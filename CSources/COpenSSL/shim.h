/* Brings OpenSSL's link flags to the C core (SHA-1 and base64 of the handshake; TLS later). */
#include <openssl/sha.h>
#include <openssl/evp.h>
