/* Internal: TK_ASAN is defined when AddressSanitizer instruments the build
 * (gcc's __SANITIZE_ADDRESS__ or clang's __has_feature). */
#ifndef TK_ASAN_INT_H
#define TK_ASAN_INT_H

#if defined(__SANITIZE_ADDRESS__)
#define TK_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TK_ASAN 1
#endif
#endif

#endif
