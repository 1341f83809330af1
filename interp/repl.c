/* repl.c — the read-eval-print loop of `lpact-repl` (and of `lpact` with
 * no script on a terminal).
 *
 * On a terminal it reads through GNU readline's callback interface, so that
 * the loop itself owns every signal while a line is being edited: Ctrl-C
 * clears the line, Ctrl-Z suspends with the terminal restored, SIGTERM /
 * SIGHUP / SIGQUIT restore the terminal before the process dies. While Lua
 * code runs, the engine's SIGINT handler is in place (it only sets a hook,
 * as lua.c does), so Ctrl-C stops a computation and the session goes on.
 *
 * Evaluation follows lua.c: a line is first tried as `return <line>` so that
 * an expression prints its values; input continues (with a continuation
 * prompt) only while the chunk's syntax error ends at <eof>. Results are
 * printed by stdlib/lpact/repl.lua (Formats, Tensors and models get their
 * own renderers). Tab completion walks globals, table fields and metatable
 * __index chains with raw access only, so no user code runs on Tab (a C
 * __index function is looked through by its table upvalues, as the
 * Format binding keeps its methods there).
 *
 * When stdin is not a terminal the same loop runs as a batch: no banner,
 * no prompts, no escape codes; errors go to stderr and make the exit status 1.
 *
 * Everything that can raise a Lua error runs inside one protected call
 * (repl_main), as in lua.c; the completion callback uses its own. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <unistd.h>

#include <readline/history.h>
#include <readline/readline.h>

#include <lauxlib.h>
#include <lua.h>

#include "engine.h"

#define HISTORY_MAX 1000        /* entries kept in ~/.lpact_history */
#define HIST_SEP '\x1e'         /* a newline inside a history entry, on file */
#define TRACE_MAX 5             /* frames of a short traceback */
#define PROMPT1 "lpact> "
#define PROMPT2 "   ..> "
#define CHUNKNAME "=stdin"

static int interactive;         /* 1: readline on a terminal; 0: batch */
static char *history_path;      /* NULL: no persistent history */
static lua_State *comp_L;       /* the state completion reads (raw) */

/* ---- signals while a line is being edited -------------------------------- */

static volatile sig_atomic_t got_int, got_tstp, got_fatal, got_winch;

/* The process has other threads (OpenBLAS starts its workers at load
 * time), and a signal sent to the process may run its handler on any
 * thread that does not block it — for instance while the main thread is
 * between printing the prompt and entering pselect, with the prompt's
 * signals blocked. The handler therefore also writes a byte to this pipe,
 * which the prompt's wait watches, so no signal is lost to another
 * thread (the self-pipe trick). -1: not open (batch mode). */
static int wake_pipe[2] = {-1, -1};

static void on_prompt_signal(int sig) {
  if (sig == SIGINT) got_int = 1;
  else if (sig == SIGTSTP) got_tstp = 1;
  else if (sig == SIGWINCH) got_winch = 1;
  else got_fatal = sig;
  if (wake_pipe[1] >= 0) {
    int saved = errno;
    ssize_t w = write(wake_pipe[1], "", 1);   /* full pipe: a wake-up is pending anyway */
    (void)w;
    errno = saved;
  }
}

/* Empties the wake-up pipe (non-blocking). */
static void wake_drain(void) {
  char buf[64];
  while (wake_pipe[0] >= 0 && read(wake_pipe[0], buf, sizeof buf) > 0) {
  }
}

static void wake_open(void) {
  if (pipe2(wake_pipe, O_NONBLOCK | O_CLOEXEC) != 0) wake_pipe[0] = wake_pipe[1] = -1;
}

static void wake_close(void) {
  int rd = wake_pipe[0], wr = wake_pipe[1];
  wake_pipe[0] = wake_pipe[1] = -1;      /* the handlers stop writing first */
  if (wr >= 0) close(wr);
  if (rd >= 0) close(rd);
}

/* SIGWINCH only raises a flag, at the prompt and while code runs alike:
 * the next read refreshes readline's idea of the size (and COLUMNS). */
static void winch_install(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_prompt_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGWINCH, &sa, NULL);
}

static const int fatal_signals[] = {SIGTERM, SIGHUP, SIGQUIT};

/* Installs the prompt-time handlers (SIGINT, SIGTSTP and the fatal ones). */
static void prompt_signals_install(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_prompt_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTSTP, &sa, NULL);
  for (size_t i = 0; i < sizeof fatal_signals / sizeof fatal_signals[0]; i++)
    sigaction(fatal_signals[i], &sa, NULL);
}

/* A session started with some of these signals blocked (a supervisor's
 * mask is inherited across exec) would never see Ctrl-C at its prompt, nor
 * restore the terminal on SIGTERM: it handles them itself, so it unblocks
 * them. */
static void prompt_signals_unblock(void) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTSTP);
  sigaddset(&set, SIGWINCH);
  for (size_t i = 0; i < sizeof fatal_signals / sizeof fatal_signals[0]; i++)
    sigaddset(&set, fatal_signals[i]);
  sigprocmask(SIG_UNBLOCK, &set, NULL);
}

/* Back to the default actions (the terminal is in its normal state then). */
static void prompt_signals_remove(void) {
  signal(SIGTSTP, SIG_DFL);
  for (size_t i = 0; i < sizeof fatal_signals / sizeof fatal_signals[0]; i++)
    signal(fatal_signals[i], SIG_DFL);
}

/* While code runs, SIGINT goes to the engine's handler through this
 * wrapper, which also notes that a Ctrl-C came (so that what follows the
 * terminal's "^C" starts on a new line). */
static struct sigaction engine_sigint;
static volatile sig_atomic_t got_run_int;

static void on_run_sigint(int sig) {
  got_run_int = 1;
  if (engine_sigint.sa_handler != SIG_DFL && engine_sigint.sa_handler != SIG_IGN)
    engine_sigint.sa_handler(sig);
}

/* Swaps the SIGINT handler between the prompt's and the engine's with the
 * signal blocked, so a Ctrl-C in between is never lost nor fatal. While
 * code runs the other signals have their default actions. */
static void sigint_to_engine(lua_State *L) {
  sigset_t set, old;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigprocmask(SIG_BLOCK, &set, &old);
  if (interactive) prompt_signals_remove();
  lp_engine_sigint_install(L);
  if (interactive && sigaction(SIGINT, NULL, &engine_sigint) == 0 &&
      !(engine_sigint.sa_flags & SA_SIGINFO)) {
    struct sigaction sa = engine_sigint;
    sa.sa_handler = on_run_sigint;
    sigaction(SIGINT, &sa, NULL);
  }
  got_run_int = 0;
  sigprocmask(SIG_SETMASK, &old, NULL);
}

static void sigint_to_prompt(void) {
  sigset_t set, old;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigprocmask(SIG_BLOCK, &set, &old);
  lp_engine_sigint_restore();
  if (interactive) {
    prompt_signals_install();
  }
  sigprocmask(SIG_SETMASK, &old, NULL);
}

/* ---- reading a line ----------------------------------------------------------- */

enum { READ_LINE, READ_EOF, READ_INTR };

static char *line_got;           /* set by the line handler */
static int line_done;

static void on_line(char *line) {
  line_got = line;
  line_done = 1;
  rl_callback_handler_remove();   /* restores the terminal */
}

/* Reads one line on the terminal. Returns READ_LINE with *out malloc'ed,
 * READ_EOF on Ctrl-D, READ_INTR when Ctrl-C cleared the line. A fatal
 * signal restores the terminal and re-raises itself. The prompt's signals
 * stay blocked except inside pselect, so none can slip in between the
 * checks and the wait. */
static int read_tty(const char *prompt, char **out) {
  static const int sigs[] = {SIGINT, SIGTSTP, SIGTERM, SIGHUP, SIGQUIT, SIGWINCH};
  sigset_t block, orig;
  sigemptyset(&block);
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) sigaddset(&block, sigs[i]);
  sigprocmask(SIG_BLOCK, &block, &orig);
  int status = READ_LINE;
  line_got = NULL;
  line_done = 0;
  got_int = got_tstp = 0;
  if (got_winch) {
    got_winch = 0;
    rl_reset_screen_size();
  }
  rl_callback_handler_install(prompt, on_line);
  while (!line_done) {
    fd_set fds;
    FD_ZERO(&fds);
    int in = fileno(rl_instream), nfds = in + 1;
    FD_SET(in, &fds);
    if (wake_pipe[0] >= 0) {
      FD_SET(wake_pipe[0], &fds);
      if (wake_pipe[0] >= nfds) nfds = wake_pipe[0] + 1;
    }
    /* a signal handled since the last code ran, or on another thread,
     * has left a byte in the pipe: the wait returns at once */
    int r = pselect(nfds, &fds, NULL, NULL, NULL, &orig);
    int err = errno;
    if (r > 0 && wake_pipe[0] >= 0 && FD_ISSET(wake_pipe[0], &fds)) {
      wake_drain();
      r = FD_ISSET(in, &fds) ? 1 : 0;
      if (r == 0) err = EINTR, r = -1;
    }
    if (got_fatal) {
      int sig = got_fatal;
      rl_callback_sigcleanup();
      rl_callback_handler_remove();
      fputc('\n', rl_outstream);
      fflush(rl_outstream);
      signal(sig, SIG_DFL);
      sigprocmask(SIG_SETMASK, &orig, NULL);
      raise(sig);
      _exit(128 + sig);
    }
    if (got_int) {              /* Ctrl-C at the prompt: drop the line */
      got_int = 0;
      rl_echo_signal_char(SIGINT);
      rl_callback_sigcleanup();
      rl_replace_line("", 0);
      rl_callback_handler_remove();
      fputc('\n', rl_outstream);
      fflush(rl_outstream);
      status = READ_INTR;
      break;
    }
    if (got_winch) {            /* the window changed size */
      got_winch = 0;
      rl_resize_terminal();
    }
    if (got_tstp) {             /* Ctrl-Z: suspend with the terminal restored */
      got_tstp = 0;
      rl_deprep_terminal();
      signal(SIGTSTP, SIG_DFL);
      sigprocmask(SIG_SETMASK, &orig, NULL);
      raise(SIGTSTP);           /* stops here until SIGCONT */
      sigprocmask(SIG_BLOCK, &block, NULL);
      prompt_signals_install();
      rl_prep_terminal(1);
      rl_forced_update_display();
      continue;
    }
    if (r < 0) {
      if (err == EINTR) continue;
      rl_callback_handler_remove();
      status = READ_EOF;
      break;
    }
    if (r > 0) rl_callback_read_char();
  }
  sigprocmask(SIG_SETMASK, &orig, NULL);
  if (status != READ_LINE) return status;
  if (line_got == NULL) {
    fputc('\n', rl_outstream);
    fflush(rl_outstream);
    return READ_EOF;
  }
  *out = line_got;
  return READ_LINE;
}

/* Reads one line from a pipe or file (batch mode), without its newline. */
static int read_batch(char **out) {
  char *line = NULL;
  size_t cap = 0;
  ssize_t n = getline(&line, &cap, stdin);
  if (n < 0) {
    free(line);
    return READ_EOF;
  }
  if (n > 0 && line[n - 1] == '\n') line[--n] = '\0';
  if (n > 0 && line[n - 1] == '\r') line[--n] = '\0';
  *out = line;
  return READ_LINE;
}

/* Pushes the next line onto the Lua stack; returns READ_LINE, READ_EOF or
 * READ_INTR (nothing pushed for the last two). */
static int push_line(lua_State *L, int first) {
  char *line = NULL;
  int st = interactive ? read_tty(first ? PROMPT1 : PROMPT2, &line) : read_batch(&line);
  if (st != READ_LINE) return st;
  lua_pushstring(L, line);
  free(line);
  return READ_LINE;
}

/* ---- history -------------------------------------------------------------------- */

/* ~/.lpact_history (LPACT_HISTORY overrides; HOME unset or empty: none). */
static void history_open(void) {
  const char *env = getenv("LPACT_HISTORY");
  const char *home = getenv("HOME");
  size_t n;
  if (env != NULL && *env) {
    history_path = strdup(env);
  } else if (home != NULL && *home && (n = strlen(home) + 32) > 0 &&
             (history_path = malloc(n)) != NULL) {
    snprintf(history_path, n, "%s/.lpact_history", home);
  }
  stifle_history(HISTORY_MAX);
  if (history_path == NULL) return;
  int fd = open(history_path, O_WRONLY | O_CREAT | O_APPEND, 0600);
  if (fd < 0) {                 /* unwritable: keep history in memory only */
    free(history_path);
    history_path = NULL;
    return;
  }
  close(fd);
  history_truncate_file(history_path, HISTORY_MAX);
  read_history(history_path);
  for (int i = 0; i < history_length; i++) {  /* multi-line entries back */
    HIST_ENTRY *e = history_get(history_base + i);
    if (e == NULL || strchr(e->line, HIST_SEP) == NULL) continue;
    char *line = strdup(e->line);
    if (line == NULL) break;
    for (char *p = line; *p; p++)
      if (*p == HIST_SEP) *p = '\n';
    HIST_ENTRY *old = replace_history_entry(i, line, e->data);
    if (old != NULL) free_history_entry(old);
    free(line);
  }
}

/* Adds a complete chunk to the history (a multi-line chunk is one entry,
 * recalled whole), appended to the file at once so that every exit path
 * (even a kill) keeps it. The file holds one entry per line: the newlines
 * inside an entry are written as HIST_SEP. */
static void history_add(const char *chunk) {
  if (!interactive || chunk[strspn(chunk, " \t\n")] == '\0') return;
  HIST_ENTRY *last = history_length > 0 ? history_get(history_base + history_length - 1) : NULL;
  if (last != NULL && strcmp(last->line, chunk) == 0) return;
  add_history(chunk);
  if (history_path == NULL) return;
  FILE *f = fopen(history_path, "a");
  if (f == NULL) return;
  for (const char *p = chunk; *p; p++) fputc(*p == '\n' ? HIST_SEP : *p, f);
  fputc('\n', f);
  fclose(f);
}

static void history_close(void) {
  if (history_path != NULL) history_truncate_file(history_path, HISTORY_MAX);
  free(history_path);
  history_path = NULL;
}

/* ---- completion (raw access only: no user code runs) ---------------------------- */

static const char *const keywords[] = {
  "and", "break", "do", "else", "elseif", "end", "false", "for", "function",
  "goto", "if", "in", "local", "nil", "not", "or", "repeat", "return", "then",
  "true", "until", "while", NULL};

static const char *const format_names[] = {
  "fp32", "bf16", "fp16", "fp8", "e4m3", "e5m2", "fp6", "e3m2", "e2m3",
  "fp4", "e2m1", "fp3", "fp2", "ue2m1", "e4m3:fn", "e5m2:ieee", NULL};

static int is_ident(const char *s, size_t n) {
  if (n == 0 || !(s[0] == '_' || (s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
    return 0;
  for (size_t i = 1; i < n; i++) {
    char c = s[i];
    if (!(c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
      return 0;
  }
  return 1;
}

/* Replaces the object at the top with obj[key], looked up raw: a table's
 * own field, else the metatable's __index if that is a table (recursively).
 * Pushes nil when the field is not reachable without running code. */
static void raw_field(lua_State *L, const char *key, int depth) {
  int obj = lua_gettop(L);
  if (lua_istable(L, obj)) {
    lua_pushstring(L, key);
    if (lua_rawget(L, obj) != LUA_TNIL) {
      lua_replace(L, obj);
      return;
    }
    lua_pop(L, 1);
  }
  if (depth < 16 && lua_getmetatable(L, obj)) {
    lua_pushliteral(L, "__index");
    int t = lua_rawget(L, -2);
    if (t == LUA_TTABLE) {
      lua_remove(L, -2);
      raw_field(L, key, depth + 1);
      lua_replace(L, obj);
      return;
    }
    if (lua_iscfunction(L, -1)) {  /* a C __index: look in its table upvalues */
      int fn = lua_gettop(L);
      for (int i = 1; lua_getupvalue(L, fn, i) != NULL; i++) {
        if (lua_istable(L, -1)) {
          raw_field(L, key, depth + 1);
          if (!lua_isnil(L, -1)) {
            lua_replace(L, obj);
            lua_settop(L, obj);
            return;
          }
        }
        lua_pop(L, 1);
      }
    }
    lua_pop(L, 2);
  }
  lua_pushnil(L);
  lua_replace(L, obj);
}

/* Adds to the set at index `set` (candidate -> kind letter) every string
 * key of the object at `obj` that starts with `part`, prefixed by
 * `prefix`; then does the same for its metatable's __index table. */
static void add_fields(lua_State *L, int obj, int set, const char *prefix,
                       const char *part, int methods_only, int depth) {
  size_t plen = strlen(part);
  if (lua_istable(L, obj)) {
    lua_pushnil(L);
    while (lua_next(L, obj) != 0) {
      size_t klen;
      const char *k;
      if (lua_type(L, -2) == LUA_TSTRING && (k = lua_tolstring(L, -2, &klen)) != NULL &&
          is_ident(k, klen) && klen >= plen && memcmp(k, part, plen) == 0) {
        int t = lua_type(L, -1);
        if (!methods_only || t == LUA_TFUNCTION) {
          lua_pushfstring(L, "%s%s", prefix, k);
          lua_pushstring(L, t == LUA_TFUNCTION ? "f" : t == LUA_TTABLE ? "t" : "v");
          lua_rawset(L, set);
        }
      }
      lua_pop(L, 1);
    }
  }
  if (depth < 16 && lua_getmetatable(L, obj)) {
    lua_pushliteral(L, "__index");
    if (lua_rawget(L, -2) == LUA_TTABLE) {
      add_fields(L, lua_gettop(L), set, prefix, part, methods_only, depth + 1);
    } else if (lua_iscfunction(L, -1)) {  /* a C __index: its table upvalues */
      int fn = lua_gettop(L);
      for (int i = 1; lua_getupvalue(L, fn, i) != NULL; i++) {
        if (lua_istable(L, -1))
          add_fields(L, lua_gettop(L), set, prefix, part, methods_only, depth + 1);
        lua_pop(L, 1);
      }
    }
    lua_pop(L, 2);
  }
}

/* The lazy submodules of `lpact` (stdlib/lpact/NAME.lua) are completed by
 * their file names, since loading them would run code. */
static void add_submodules(lua_State *L, int set, const char *prefix, const char *part) {
  lua_getfield(L, LUA_REGISTRYINDEX, "lpact.stdlib_dir");
  const char *dir = lua_tostring(L, -1);
  if (dir == NULL) {
    lua_pop(L, 1);
    return;
  }
  lua_pushfstring(L, "%s/lpact", dir);
  DIR *d = opendir(lua_tostring(L, -1));
  lua_pop(L, 2);
  if (d == NULL) return;
  size_t plen = strlen(part);
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {  /* nothing below can raise but memory errors */
    size_t n = strlen(e->d_name);
    if (n > 4 && strcmp(e->d_name + n - 4, ".lua") == 0 && is_ident(e->d_name, n - 4) &&
        n - 4 >= plen && memcmp(e->d_name, part, plen) == 0) {
      lua_pushfstring(L, "%s%s", prefix, e->d_name);
      lua_pushlstring(L, lua_tostring(L, -1), strlen(prefix) + n - 4);
      lua_remove(L, -2);
      lua_pushliteral(L, "t");
      lua_rawset(L, set);
    }
  }
  closedir(d);
}

/* Whether the value at idx is the global `lpact` table. */
static int is_lpact(lua_State *L, int idx) {
  lua_getglobal(L, "lpact");
  int same = lua_istable(L, -1) && lua_rawequal(L, -1, idx);
  lua_pop(L, 1);
  return same;
}

/* Protected: collect(text, quoted) -> set of candidates {string = kind}. */
/* Leaves only the set (index 3) as collect's result. */
static int finish(lua_State *L) {
  lua_settop(L, 3);
  return 1;
}

static int collect(lua_State *L) {
  const char *text = luaL_checkstring(L, 1);
  int quoted = lua_toboolean(L, 2);
  lua_settop(L, 2);
  lua_newtable(L);
  int set = 3;
  size_t tlen = strlen(text);
  if (quoted) {                 /* inside a string: format names */
    for (int i = 0; format_names[i] != NULL; i++)
      if (strncmp(format_names[i], text, tlen) == 0) {
        lua_pushstring(L, format_names[i]);
        lua_pushliteral(L, "s");
        lua_rawset(L, set);
      }
    return finish(L);
  }
  const char *sep = NULL;
  for (const char *p = text; *p; p++)
    if (*p == '.' || *p == ':') sep = p;
  if (sep == NULL) {
    lua_pushglobaltable(L);
    add_fields(L, lua_gettop(L), set, "", text, 0, 0);
    for (int i = 0; keywords[i] != NULL; i++)
      if (strncmp(keywords[i], text, tlen) == 0) {
        lua_pushstring(L, keywords[i]);
        lua_pushliteral(L, "k");
        lua_rawset(L, set);
      }
    return finish(L);
  }
  /* walk the path before the last separator, raw */
  lua_pushglobaltable(L);
  const char *p = text;
  while (p < sep) {
    const char *q = p;
    while (q < sep && *q != '.' && *q != ':') q++;
    if ((q < sep && *q == ':') || !is_ident(p, (size_t)(q - p)))
      return finish(L);         /* a:b.c is not a path */
    lua_pushlstring(L, p, (size_t)(q - p));
    const char *key = lua_tostring(L, -1);
    lua_insert(L, -2);
    int parent = lua_gettop(L);
    lua_pushvalue(L, parent);
    raw_field(L, key, 0);
    if (lua_isnil(L, -1) && is_lpact(L, parent)) {
      /* a submodule not loaded yet (lpact.data.fa<Tab>): load it as
       * naming lpact.data would; this runs the stdlib's own loader only */
      lua_pop(L, 1);
      lua_getfield(L, parent, key);
    }
    lua_remove(L, -2);
    lua_remove(L, -2);
    if (lua_isnil(L, -1)) return finish(L);
    p = q + 1;
  }
  int obj = lua_gettop(L);
  lua_pushlstring(L, text, (size_t)(sep - text) + 1);
  const char *prefix = lua_tostring(L, -1);
  add_fields(L, obj, set, prefix, sep + 1, *sep == ':', 0);
  if (*sep == '.' && lua_getglobal(L, "lpact") != LUA_TNIL && lua_rawequal(L, -1, obj))
    add_submodules(L, set, prefix, sep + 1);
  return finish(L);
}

static char **comp_items;
static size_t comp_count, comp_next;

static char *comp_generator(const char *text, int state) {
  (void)text;
  if (state == 0) comp_next = 0;
  return comp_next < comp_count ? strdup(comp_items[comp_next++]) : NULL;
}

static void comp_free(void) {
  for (size_t i = 0; i < comp_count; i++) free(comp_items[i]);
  free(comp_items);
  comp_items = NULL;
  comp_count = 0;
}

static char **complete(const char *text, int start, int end) {
  (void)start;
  (void)end;
  lua_State *L = comp_L;
  rl_attempted_completion_over = 1;   /* never fall back to file names */
  rl_completion_append_character = '\0';
  comp_free();
  if (L == NULL || !lua_checkstack(L, 8)) return NULL;
  int top = lua_gettop(L);
  lua_pushcfunction(L, collect);
  lua_pushstring(L, text);
  lua_pushboolean(L, rl_completion_quote_character != 0);
  if (lua_pcall(L, 2, 1, 0) != LUA_OK || !lua_istable(L, -1)) {
    lua_settop(L, top);
    return NULL;
  }
  size_t n = 0;
  char kind = 0;
  lua_pushnil(L);
  while (lua_next(L, -2) != 0) {
    n++;
    kind = lua_tostring(L, -1)[0];
    lua_pop(L, 1);
  }
  comp_items = n ? calloc(n, sizeof *comp_items) : NULL;
  if (comp_items != NULL) {
    lua_pushnil(L);
    while (lua_next(L, -2) != 0 && comp_count < n) {
      char *s = strdup(lua_tostring(L, -2));
      if (s != NULL) comp_items[comp_count++] = s;
      lua_pop(L, 1);
    }
  }
  lua_settop(L, top);
  if (comp_count == 1)
    rl_completion_append_character = kind == 'f' ? '(' : kind == 'k' ? ' ' : '\0';
  char **m = rl_completion_matches(text, comp_generator);
  comp_free();
  return m;
}

/* ---- loading and running a chunk -------------------------------------------------- */

/* A syntax error that ends at <eof> means "keep reading". */
static int incomplete(lua_State *L, int status) {
  if (status != LUA_ERRSYNTAX) return 0;
  size_t n;
  const char *msg = lua_tolstring(L, -1, &n);
  static const char eof[] = "<eof>";
  return msg != NULL && n >= sizeof eof - 1 && strcmp(msg + n - (sizeof eof - 1), eof) == 0;
}

/* Line on top: tries `return <line>`; on success replaces the line by the
 * compiled function. */
static int try_return(lua_State *L) {
  const char *line = lua_tostring(L, -1);
  const char *code = lua_pushfstring(L, "return %s;", line);
  int status = luaL_loadbuffer(L, code, strlen(code), CHUNKNAME);
  if (status == LUA_OK) {
    lua_remove(L, -2);          /* the "return" text */
    lua_remove(L, -2);          /* the line */
  } else {
    lua_pop(L, 2);              /* error and "return" text */
  }
  return status;
}

/* Line on top: compiles it as a statement, reading continuation lines while
 * the chunk is incomplete. Leaves the function (or the error message) on
 * top, and the full text below it. Returns the status, or -1 when a Ctrl-C
 * abandoned the chunk (nothing left on the stack). */
static int load_statement(lua_State *L) {
  for (;;) {
    size_t len;
    const char *text = lua_tolstring(L, -1, &len);
    int status = luaL_loadbuffer(L, text, len, CHUNKNAME);
    if (!incomplete(L, status)) return status;
    lua_pop(L, 1);
    int st = push_line(L, 0);
    if (st == READ_INTR) {
      lua_pop(L, 1);
      return -1;
    }
    if (st == READ_EOF) {       /* input ended inside a chunk: report it */
      text = lua_tolstring(L, -1, &len);
      return luaL_loadbuffer(L, text, len, CHUNKNAME);
    }
    lua_pushliteral(L, "\n");
    lua_insert(L, -2);
    lua_concat(L, 3);
  }
}

/* Message handler: lpact.fail errors give their message alone; other
 * errors the message and a short traceback of the frames worth reading
 * (no C frames, no typed-in main chunk), at most TRACE_MAX of them. */
static int msghandler(lua_State *L) {
  if (lua_type(L, 1) == LUA_TTABLE) {
    lua_getfield(L, 1, "exit");
    int is_fail = lua_isinteger(L, -1);
    lua_pop(L, 1);
    if (is_fail) {
      lua_getfield(L, 1, "msg");
      if (lua_type(L, -1) != LUA_TSTRING) lua_pushliteral(L, "failed");
      return 1;
    }
  }
  const char *msg = lua_tostring(L, 1);
  if (msg == NULL) {
    if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
      msg = lua_tostring(L, -1);
    else
      msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  }
  luaL_traceback(L, L, NULL, 1);
  const char *tb = lua_tostring(L, -1);
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  luaL_addstring(&b, msg);
  int kept = 0, more = 0;
  for (const char *p = tb; *p;) {
    const char *e = strchr(p, '\n');
    size_t n = e ? (size_t)(e - p) : strlen(p);
    int skip = n == 0 || (n >= 16 && memcmp(p, "stack traceback:", 16) == 0) ||
               memmem(p, n, "[C]:", 4) != NULL || memmem(p, n, "(...tail calls...)", 18) != NULL ||
               (memmem(p, n, "stdin:", 6) != NULL && memmem(p, n, "in main chunk", 13) != NULL);
    if (!skip) {
      if (kept < TRACE_MAX) {
        luaL_addstring(&b, "\n  ");
        const char *q = p;
        while (q < p + n && (*q == '\t' || *q == ' ')) q++;
        luaL_addlstring(&b, q, (size_t)(p + n - q));
        kept++;
      } else {
        more++;
      }
    }
    p = e ? e + 1 : p + n;
  }
  if (more) {
    lua_pushfstring(L, "\n  (%d more)", more);
    luaL_addvalue(&b);
  }
  luaL_pushresult(&b);
  return 1;
}

/* Removes an interrupt hook that fired too late to stop anything (the
 * engine sets a count-1 hook; a user's own hooks are left alone). */
static void clear_stray_hook(lua_State *L) {
  if (lua_gethook(L) != NULL && lua_gethookcount(L) == 1 &&
      (lua_gethookmask(L) & LUA_MASKCOUNT))
    lua_sethook(L, NULL, 0, 0);
}

/* Calls the function below `narg` arguments with the engine's Ctrl-C
 * handling and the short-traceback handler. */
static int docall(lua_State *L, int narg, int nres) {
  int base = lua_gettop(L) - narg;
  lua_pushcfunction(L, msghandler);
  lua_insert(L, base);
  sigint_to_engine(L);
  int status = lua_pcall(L, narg, nres, base);
  sigint_to_prompt();
  if (got_run_int) {            /* after the terminal's ^C */
    got_run_int = 0;
    fputc('\n', stdout);
    fflush(stdout);
  }
  clear_stray_hook(L);
  lua_remove(L, base);
  return status;
}

static int had_error;

/* Prints the message on top (popping it) to stderr. */
static void report(lua_State *L) {
  const char *msg = lua_tostring(L, -1);
  fflush(stdout);
  fprintf(stderr, "%s\n", msg ? msg : "(error object is not a string)");
  fflush(stderr);
  lua_pop(L, 1);
  had_error = 1;
}

/* Prints the values above `base` through repl.lua's printer. */
static void print_results(lua_State *L, int base) {
  int n = lua_gettop(L) - base;
  if (n <= 0) return;
  lua_getfield(L, LUA_REGISTRYINDEX, "lpact.repl.print");
  if (!lua_isfunction(L, -1)) {  /* no printer: plain print */
    lua_pop(L, 1);
    lua_getglobal(L, "print");
  }
  lua_insert(L, base + 1);
  if (docall(L, n, 0) != LUA_OK) report(L);
  fflush(stdout);
}

/* ---- the loop --------------------------------------------------------------------- */

/* Pushes repl.lua's field `name` when it is a function (returns 1), else
 * pushes nothing (returns 0). */
static int push_repl_fn(lua_State *L, const char *name) {
  if (lua_getfield(L, LUA_REGISTRYINDEX, "lpact.repl") != LUA_TTABLE) {
    lua_pop(L, 1);
    return 0;
  }
  lua_getfield(L, -1, name);
  lua_remove(L, -2);
  if (lua_isfunction(L, -1)) return 1;
  lua_pop(L, 1);
  return 0;
}

/* A line that starts with ':' and a letter (`:hint`, `:quit`) is never Lua:
 * it goes to repl.command(line), which runs the lessons' commands. Returns
 * 1 when the line was taken (and pops it), 0 to evaluate it as Lua. */
static int meta_command(lua_State *L) {
  const char *line = lua_tostring(L, -1);
  line += strspn(line, " \t");
  if (line[0] != ':' || !((line[1] >= 'a' && line[1] <= 'z') || (line[1] >= 'A' && line[1] <= 'Z')))
    return 0;
  history_add(lua_tostring(L, -1));
  if (!push_repl_fn(L, "command")) return 0;
  lua_pushvalue(L, -2);
  if (docall(L, 1, 0) != LUA_OK) report(L);
  fflush(stdout);
  lua_pop(L, 1);                /* the line */
  return 1;
}

/* After a chunk ran: repl.after(values, text), where values packs what the
 * chunk returned ({n = count, ...}); the lessons check answers there. The
 * values are at base+1 .. top, the chunk's text at `text`. */
static void after_chunk(lua_State *L, int text, int base) {
  int n = lua_gettop(L) - base;
  if (!push_repl_fn(L, "after")) return;
  lua_createtable(L, n, 1);
  for (int i = 1; i <= n; i++) {
    lua_pushvalue(L, base + i);
    lua_rawseti(L, -2, i);
  }
  lua_pushinteger(L, n);
  lua_setfield(L, -2, "n");
  lua_pushvalue(L, text);
  if (docall(L, 2, 0) != LUA_OK) report(L);
  fflush(stdout);
}

/* Sets repl.lua's field `chunk` to the value at index `text` (the code about
 * to run, so that a view can name itself after the call that made it: a
 * saved hist(w) is titled "hist(w)"), or to nil when `text` is 0. */
static void set_chunk_text(lua_State *L, int text) {
  if (lua_getfield(L, LUA_REGISTRYINDEX, "lpact.repl") != LUA_TTABLE) {
    lua_pop(L, 1);
    return;
  }
  if (text) lua_pushvalue(L, text); else lua_pushnil(L);
  lua_setfield(L, -2, "chunk");
  lua_pop(L, 1);
}

/* Reads, compiles, runs and prints one chunk. Returns 0 at end of input. */
static int one_chunk(lua_State *L) {
  int base = lua_gettop(L);
  int st = push_line(L, 1);
  if (st == READ_EOF) return 0;
  if (st == READ_INTR) return 1;
  if (meta_command(L)) return 1;
  lua_pushvalue(L, -1);         /* keep the text for the history */
  int status = try_return(L);
  if (status != LUA_OK) {
    lua_pop(L, 1);              /* the copy: load_statement grows the line */
    status = load_statement(L);
    if (status == -1) {
      lua_settop(L, base);
      return 1;
    }
  }
  history_add(lua_tostring(L, base + 1));
  if (status == LUA_OK) {       /* the text stays at base + 1 for repl.after */
    set_chunk_text(L, base + 1);
    status = docall(L, 0, LUA_MULTRET);
    set_chunk_text(L, 0);
    if (status == LUA_OK) {
      int top = lua_gettop(L);
      for (int i = base + 2; i <= top; i++) lua_pushvalue(L, i);
      print_results(L, top);
      after_chunk(L, base + 1, base + 1);
    }
  }
  if (status != LUA_OK) report(L);
  lua_settop(L, base);
  return 1;
}

/* Runs what the program asked to run before the first prompt (a lesson's
 * start, a script for `lpact -i`): the registry field "lpact.repl.first",
 * a list {f, args...; n = count}, set by lp_repl_first. */
static void run_first(lua_State *L) {
  if (lua_getfield(L, LUA_REGISTRYINDEX, "lpact.repl.first") != LUA_TTABLE) {
    lua_pop(L, 1);
    return;
  }
  int t = lua_gettop(L);
  lua_getfield(L, t, "n");
  int n = (int)lua_tointeger(L, -1);
  lua_pop(L, 1);
  luaL_checkstack(L, n + 1, "too many arguments");
  for (int i = 1; i <= n; i++) lua_rawgeti(L, t, i);
  if (docall(L, n - 1, 0) != LUA_OK) report(L);
  fflush(stdout);
  lua_settop(L, t - 1);
  lua_pushnil(L);
  lua_setfield(L, LUA_REGISTRYINDEX, "lpact.repl.first");
}

void lp_repl_first(lua_State *L, int n) {
  lua_createtable(L, n, 1);
  lua_insert(L, -n - 1);
  for (int i = n; i >= 1; i--) lua_rawseti(L, -i - 1, i);
  lua_pushinteger(L, n);
  lua_setfield(L, -2, "n");
  lua_setfield(L, LUA_REGISTRYINDEX, "lpact.repl.first");
}

/* Protected: the whole session (stdlib setup, banner, loop). */
static int repl_main(lua_State *L) {
  lua_getglobal(L, "require");
  lua_pushliteral(L, "lpact.repl");
  int status = docall(L, 1, 1);
  if (status == LUA_OK && lua_istable(L, -1)) {
    lua_getfield(L, -1, "print");
    lua_setfield(L, LUA_REGISTRYINDEX, "lpact.repl.print");
    if (interactive) {
      lua_getfield(L, -1, "banner");
      if (lua_isfunction(L, -1) && docall(L, 0, 1) == LUA_OK && lua_isstring(L, -1))
        printf("%s\n", lua_tostring(L, -1));
      lua_pop(L, 1);
    }
    lua_setfield(L, LUA_REGISTRYINDEX, "lpact.repl");
  } else {                      /* still a usable Lua prompt without it */
    if (status != LUA_OK) report(L);
    else lua_pop(L, 1);
    had_error = 0;
  }
  fflush(stdout);
  run_first(L);
  while (one_chunk(L)) {
  }
  return 0;
}

int lp_repl_run(lua_State *L) {
  interactive = isatty(STDIN_FILENO);
  had_error = 0;
  if (interactive) {
    rl_readline_name = "lpact";
    rl_catch_signals = 0;       /* this loop owns the signals (read_tty) */
    rl_catch_sigwinch = 0;      /* ... SIGWINCH included (winch_install) */
    rl_change_environment = 1;  /* COLUMNS/LINES follow the window */
    rl_outstream = isatty(STDOUT_FILENO) ? stdout : stderr;
    rl_basic_word_break_characters = " \t\n\"\\'`@$><=;|&{(,+-*/%^~#[]";
    rl_completer_word_break_characters = rl_basic_word_break_characters;
    rl_completer_quote_characters = "\"'";
    rl_attempted_completion_function = complete;
    comp_L = L;
    history_open();
    wake_open();
    prompt_signals_install();
    winch_install();
    prompt_signals_unblock();
  }
  lua_pushcfunction(L, repl_main);
  int status = lua_pcall(L, 0, 0, 0);
  if (interactive) {
    prompt_signals_remove();
    signal(SIGINT, SIG_DFL);
    signal(SIGWINCH, SIG_DFL);
    wake_close();
    history_close();
    comp_L = NULL;
  }
  if (status != LUA_OK) {       /* only an out-of-memory gets here */
    fprintf(stderr, "lpact: %s\n", lua_tostring(L, -1) ? lua_tostring(L, -1) : "fatal error");
    lua_pop(L, 1);
    return 1;
  }
  fflush(stdout);
  return had_error && !interactive ? 1 : 0;
}
