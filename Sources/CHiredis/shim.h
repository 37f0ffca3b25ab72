#ifndef INSIGHTS_CHIREDIS_SHIM_H
#define INSIGHTS_CHIREDIS_SHIM_H

#include <hiredis/hiredis.h>
#include <sys/time.h>

/// hiredis' context errstr is a fixed char array; Swift imports it as a tuple, so hand out a pointer.
static inline const char *chiredis_errstr(const redisContext *c) { return c->errstr; }

/// The reply's element vector, typed so Swift can index it without casts.
static inline redisReply *chiredis_element(const redisReply *r, size_t i) { return r->element[i]; }

/// redisGetReply takes a void**; this typed variant keeps the cast out of Swift.
static inline int chiredis_get_reply(redisContext *c, redisReply **reply) { return redisGetReply(c, (void **)reply); }

/// redisCommandArgv returns void*; typed for Swift.
static inline redisReply *chiredis_command_argv(redisContext *c, int argc, const char **argv, const size_t *lens) {
    return (redisReply *)redisCommandArgv(c, argc, argv, lens);
}

#endif
