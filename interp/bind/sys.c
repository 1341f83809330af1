/* sys.c — the operating-system calls that sweeps need to be safe when
 * they are killed, run twice, or shared between machines. Exported as
 * lpact.sys:
 *
 *   sys.pid()                        -> this process's id
 *   sys.hostname()                   -> the host name
 *   sys.alive(pid)                   -> true when a process pid exists here
 *   sys.kill(pid, sig)               -> true, or nil, message
 *   sys.time()                       -> wall-clock seconds since 1970 (float)
 *   sys.sleep(seconds)               (a signal ends it early)
 *   sys.mtime(path)                  -> modification time (float), or nil, message
 *   sys.touch(path)                  -> true (mtime := now), or nil, message
 *   sys.create_excl(path, bytes)     -> true | nil, message, "exists"
 *       creates path only if it does not exist (O_EXCL: atomic, also on
 *       NFSv3 and later), writes bytes, fsyncs the file and its folder
 *   sys.write_atomic(path, bytes)    -> true | nil, message
 *       bytes into <path>.tmp-<host>-<pid>-<random> (O_EXCL), fsync, rename
 *       over path, fsync the folder
 *   sys.fsync_dir(dir)               -> true | nil, message
 *   sys.random_hex(n)                -> n random hex digits (names, not numbers)
 *   sys.hash(s [, h])                -> 16 hex digits, 64-bit FNV-1a of s
 *   sys.tensor_hash(t [, h])         -> 16 hex digits over t's float32 values
 *   sys.cpus()                       -> CPUs allotted to this process
 *   sys.spawn(argv)                  -> pid (argv[1] searched in PATH)
 *   sys.wait(pid [, nohang])         -> status (exit code, or 128 + signal);
 *       nil when nohang and still running, or when a signal came (EINTR)
 *
 * None of these holds C memory across a Lua error. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bind/bind.h"
#include "core/cpus.h"

extern char **environ;

/* Pushes nil, "<path>: <what>: <reason>" and, with kind, "exists" or
 * "error"; returns the number of values pushed. */
static int fail_errno(lua_State *L, const char *what, const char *path, int kind) {
  int e = errno;
  luaL_pushfail(L);
  lua_pushfstring(L, "%s: %s: %s", path, what, strerror(e));
  if (!kind) return 2;
  lua_pushstring(L, e == EEXIST ? "exists" : "error");
  return 3;
}

static int s_pid(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)getpid());
  return 1;
}

static int s_hostname(lua_State *L) {
  char buf[256];
  if (gethostname(buf, sizeof buf) != 0) snprintf(buf, sizeof buf, "localhost");
  buf[sizeof buf - 1] = '\0';
  lua_pushstring(L, buf);
  return 1;
}

static int s_alive(lua_State *L) {
  lua_Integer pid = luaL_checkinteger(L, 1);
  if (pid <= 0 || pid > INT32_MAX) {
    lua_pushboolean(L, 0);
    return 1;
  }
  int r = kill((pid_t)pid, 0);
  lua_pushboolean(L, r == 0 || errno == EPERM);
  return 1;
}

static int s_kill(lua_State *L) {
  lua_Integer pid = luaL_checkinteger(L, 1), sig = luaL_checkinteger(L, 2);
  luaL_argcheck(L, pid > 0 && pid <= INT32_MAX, 1, "process id expected");
  luaL_argcheck(L, sig >= 0 && sig < 65, 2, "signal number expected");
  if (kill((pid_t)pid, (int)sig) != 0) {
    luaL_pushfail(L);
    lua_pushstring(L, strerror(errno));
    return 2;
  }
  lua_pushboolean(L, 1);
  return 1;
}

static int s_time(lua_State *L) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  lua_pushnumber(L, (lua_Number)ts.tv_sec + (lua_Number)ts.tv_nsec * 1e-9);
  return 1;
}

static int s_sleep(lua_State *L) {
  lua_Number s = luaL_checknumber(L, 1);
  luaL_argcheck(L, s >= 0 && s < 1e6, 1, "seconds expected");
  struct timespec ts = {(time_t)s, (long)((s - (lua_Number)(time_t)s) * 1e9)};
  nanosleep(&ts, NULL);   /* a signal ends it early: the caller looks at the flag */
  return 0;
}

static int s_mtime(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  struct stat st;
  if (stat(path, &st) != 0) return fail_errno(L, "cannot stat", path, 0);
  lua_pushnumber(L, (lua_Number)st.st_mtim.tv_sec + (lua_Number)st.st_mtim.tv_nsec * 1e-9);
  return 1;
}

static int s_touch(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  if (utimensat(AT_FDCWD, path, NULL, 0) != 0) return fail_errno(L, "cannot touch", path, 0);
  lua_pushboolean(L, 1);
  return 1;
}

/* fsync of the folder that holds path (so a rename or create survives a crash). */
static int sync_parent(const char *path) {
  char dir[4096];
  const char *slash = strrchr(path, '/');
  if (slash == NULL) snprintf(dir, sizeof dir, ".");
  else if (slash == path) snprintf(dir, sizeof dir, "/");
  else snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
  int fd = open(dir, O_RDONLY | O_DIRECTORY);
  if (fd < 0) return -1;
  int r = fsync(fd);
  /* some file systems refuse fsync on a folder; that is no write error */
  if (r != 0 && (errno == EINVAL || errno == EROFS)) r = 0;
  close(fd);
  return r;
}

static int write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

/* Creates path with O_EXCL, writes bytes, fsyncs file and folder. */
static int create_synced(const char *path, const char *bytes, size_t n) {
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return -1;
  if (write_all(fd, bytes, n) != 0 || fsync(fd) != 0) {
    int e = errno;
    close(fd);
    unlink(path);
    errno = e;
    return -1;
  }
  if (close(fd) != 0) {
    int e = errno;
    unlink(path);
    errno = e;
    return -1;
  }
  return 0;
}

static int s_create_excl(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  size_t n;
  const char *bytes = luaL_checklstring(L, 2, &n);
  if (create_synced(path, bytes, n) != 0) return fail_errno(L, "cannot create", path, 1);
  sync_parent(path);
  lua_pushboolean(L, 1);
  return 1;
}

static void random_hex(char *out, size_t ndigits) {
  unsigned char b[32];
  size_t nb = (ndigits + 1) / 2;
  if (nb > sizeof b) nb = sizeof b;
  if (getrandom(b, nb, 0) != (ssize_t)nb) {
    /* no entropy source: time and pid still make the name unique enough */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t x = (uint64_t)ts.tv_nsec * 6364136223846793005ULL ^ (uint64_t)getpid();
    for (size_t i = 0; i < nb; i++) b[i] = (unsigned char)(x >> (8 * (i % 8)));
  }
  static const char hex[] = "0123456789abcdef";
  for (size_t i = 0; i < ndigits && i / 2 < nb; i++) out[i] = hex[(b[i / 2] >> (i % 2 ? 0 : 4)) & 15];
  out[ndigits] = '\0';
}

static int s_random_hex(lua_State *L) {
  lua_Integer n = luaL_optinteger(L, 1, 8);
  luaL_argcheck(L, n >= 1 && n <= 64, 1, "1 to 64 digits");
  char buf[65];
  random_hex(buf, (size_t)n);
  lua_pushstring(L, buf);
  return 1;
}

static int s_write_atomic(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  size_t n;
  const char *bytes = luaL_checklstring(L, 2, &n);
  char host[128], rnd[9];
  if (gethostname(host, sizeof host) != 0) snprintf(host, sizeof host, "localhost");
  host[sizeof host - 1] = '\0';
  for (char *c = host; *c; c++)
    if (*c == '/' || *c == '.') *c = '_';   /* a short name: no dots in the temp suffix */
  random_hex(rnd, 8);
  const char *tmp = lua_pushfstring(L, "%s.tmp-%s-%d-%s", path, host, (int)getpid(), rnd);
  if (create_synced(tmp, bytes, n) != 0) return fail_errno(L, "cannot write", path, 0);
  if (rename(tmp, path) != 0) {
    int e = errno;
    unlink(tmp);
    errno = e;
    return fail_errno(L, "cannot rename into place", path, 0);
  }
  if (sync_parent(path) != 0) return fail_errno(L, "cannot sync the folder of", path, 0);
  lua_pushboolean(L, 1);
  return 1;
}

static int s_fsync_dir(lua_State *L) {
  const char *dir = luaL_checkstring(L, 1);
  int fd = open(dir, O_RDONLY | O_DIRECTORY);
  if (fd < 0) return fail_errno(L, "cannot open", dir, 0);
  int r = fsync(fd);
  int e = errno;
  close(fd);
  if (r != 0 && e != EINVAL && e != EROFS) {
    errno = e;
    return fail_errno(L, "cannot sync", dir, 0);
  }
  lua_pushboolean(L, 1);
  return 1;
}

#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL

static uint64_t opt_seed(lua_State *L, int i) {
  if (lua_isnoneornil(L, i)) return FNV_OFFSET;
  const char *s = luaL_checkstring(L, i);
  uint64_t h = 0;
  for (int k = 0; k < 16 && s[k]; k++) {
    int c = s[k];
    int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    luaL_argcheck(L, v >= 0, i, "16 hex digits expected");
    h = h << 4 | (uint64_t)v;
  }
  return h;
}

static void push_hex(lua_State *L, uint64_t h) {
  char buf[17];
  snprintf(buf, sizeof buf, "%016llx", (unsigned long long)h);
  lua_pushstring(L, buf);
}

static int s_hash(lua_State *L) {
  size_t n;
  const unsigned char *s = (const unsigned char *)luaL_checklstring(L, 1, &n);
  uint64_t h = opt_seed(L, 2);
  for (size_t i = 0; i < n; i++) h = (h ^ s[i]) * FNV_PRIME;
  push_hex(L, h);
  return 1;
}

/* FNV-1a over 32-bit words (the float bits), in logical order, then the
 * shape: equal values in equal shapes give equal hashes. */
static int s_tensor_hash(lua_State *L) {
  lp_tensor *t = lp_check_contiguous(L, 1);
  uint64_t h = opt_seed(L, 2);
  const float *p = lp_tensor_data(t);
  int64_t n = lp_tensor_numel(t);
  for (int64_t i = 0; i < n; i++) {
    uint32_t w;
    memcpy(&w, p + i, 4);
    h = (h ^ w) * FNV_PRIME;
  }
  for (int d = 0; d < t->ndim; d++) h = (h ^ (uint64_t)t->shape[d]) * FNV_PRIME;
  push_hex(L, h);
  return 1;
}

static int s_cpus(lua_State *L) {
  lua_pushinteger(L, lp_alloc_cpus());
  return 1;
}

static int s_spawn(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_Integer n = luaL_len(L, 1);
  luaL_argcheck(L, n >= 1 && n < 4096, 1, "a list of program and arguments expected");
  /* the strings stay on the Lua stack while argv points into them */
  luaL_checkstack(L, (int)n + 4, "too many arguments");
  char **argv = lua_newuserdatauv(L, sizeof(char *) * (size_t)(n + 1), 0);
  for (lua_Integer i = 1; i <= n; i++) {
    lua_geti(L, 1, i);
    if (lua_type(L, -1) != LUA_TSTRING) return luaL_argerror(L, 1, "every argument must be a string");
    argv[i - 1] = (char *)lua_tostring(L, -1);
  }
  argv[n] = NULL;
  pid_t pid;
  int r = posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ);
  if (r != 0) {
    luaL_pushfail(L);
    lua_pushfstring(L, "cannot start %s: %s", argv[0], strerror(r));
    return 2;
  }
  lua_pushinteger(L, (lua_Integer)pid);
  return 1;
}

static int s_wait(lua_State *L) {
  lua_Integer pid = luaL_checkinteger(L, 1);
  luaL_argcheck(L, pid > 0 && pid <= INT32_MAX, 1, "process id expected");
  int nohang = lua_toboolean(L, 2);
  int st;
  pid_t r = waitpid((pid_t)pid, &st, nohang ? WNOHANG : 0);
  if (r == 0 || (r < 0 && errno == EINTR)) {
    luaL_pushfail(L);
    return 1;
  }
  if (r < 0) {
    luaL_pushfail(L);
    lua_pushstring(L, strerror(errno));
    return 2;
  }
  lua_pushinteger(L, WIFEXITED(st) ? WEXITSTATUS(st) : WIFSIGNALED(st) ? 128 + WTERMSIG(st) : 1);
  return 1;
}

int luaopen_lpact_sys(lua_State *L) {
  static const luaL_Reg fns[] = {
    {"pid", s_pid}, {"hostname", s_hostname}, {"alive", s_alive}, {"kill", s_kill},
    {"time", s_time}, {"sleep", s_sleep}, {"mtime", s_mtime}, {"touch", s_touch},
    {"create_excl", s_create_excl}, {"write_atomic", s_write_atomic}, {"fsync_dir", s_fsync_dir},
    {"random_hex", s_random_hex}, {"hash", s_hash}, {"tensor_hash", s_tensor_hash},
    {"cpus", s_cpus}, {"spawn", s_spawn}, {"wait", s_wait}, {NULL, NULL}};
  lua_createtable(L, 0, 1);
  luaL_newlib(L, fns);
  lua_setfield(L, -2, "sys");
  return 1;
}
