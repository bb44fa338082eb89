/*
 * Protocol-level prepared statements on the transaction plane (native/txplane.h), for clients that
 * prepared in JavaScript (src/pool/prepared.ts) and now only Bind, Describe and Execute them.
 *
 * JavaScript lends a client with its statement map (client name -> registry id; the server-side
 * name is `gh_<id>`) and a server with the ids it holds. The thread carries an extended-protocol
 * batch (Bind, Describe, Execute, through Sync) when every statement it names is in the client's
 * map and held by the server it is linked to: it renames them to the server-side names and
 * forwards the batch. It never prepares, closes or evicts anything itself, so JavaScript's copies
 * stay right without being told; only the order of use changes, and a server's list goes back to
 * JavaScript with the server (most recently used last) so that its LRU evicts what is really old. Anything else goes back to JavaScript untouched, before the
 * batch: Parse, Close, Flush, a statement the map lacks (TXR_MESSAGE) or the server lacks
 * (TXR_PREPARE; JavaScript prepares it there and lends the client again).
 *
 * Included by txplane.h alone; runs with relay.c's lock held.
 */
#ifndef GATEHOUSE_TXPREP_H
#define GATEHOUSE_TXPREP_H

/* Blob layout of a client's map, as JavaScript writes it: per statement, u32 id, u32 name length, the name (host byte order). */
#define TX_NAME_HEAD 8

/* The registry id of the client's statement `name` (0: not in its map). */
static uint32_t tx_name_id(const unsigned char *names, size_t names_len, const unsigned char *name, size_t len) {
  size_t p = 0;
  while (p + TX_NAME_HEAD <= names_len) {
    uint32_t id, n;
    memcpy(&id, names + p, 4);
    memcpy(&n, names + p + 4, 4);
    if (n == len && id != 0 && memcmp(names + p + TX_NAME_HEAD, name, len) == 0) return id;
    p += TX_NAME_HEAD + n;
  }
  return 0;
}

/* A simple Query destroys the unnamed statement (protocol-flow "Extended Query"): its entry's id becomes 0. */
static void tx_forget_unnamed(unsigned char *names, size_t names_len) {
  size_t p = 0;
  while (p + TX_NAME_HEAD <= names_len) {
    uint32_t n;
    memcpy(&n, names + p + 4, 4);
    if (n == 0) memset(names + p, 0, 4);
    p += TX_NAME_HEAD + n;
  }
}

static int tx_holds(const uint32_t *held, uint32_t n, uint32_t id) {
  for (uint32_t i = 0; i < n; i++)
    if (held[i] == id) return 1;
  return 0;
}

/* Marks `id` most recently used: the held list is in JavaScript's LRU order, oldest first, and goes back to it in that order. */
static void tx_touch(uint32_t *held, uint32_t n, uint32_t id) {
  for (uint32_t i = 0; i + 1 < n; i++)
    if (held[i] == id) {
      memmove(held + i, held + i + 1, (n - i - 1) * sizeof *held);
      held[n - 1] = id;
      return;
    }
}

/*
 * The statement name a whole message `m` (type byte first, `len` its length field) refers to:
 * Bind's source statement or Describe 'S''s. 1 with *off and *n set (the name's offset in m and its
 * length), 0 for any other message.
 */
static int tx_statement_ref(const unsigned char *m, uint32_t len, size_t *off, size_t *n) {
  const unsigned char *b = m + 5;
  size_t bl = len - 4;
  if (m[0] == 'D' && b[0] == 'S') {
    *off = 6;
    *n = bl - 2;
    return 1;
  }
  if (m[0] != 'B') return 0;
  const unsigned char *z = memchr(b, 0, bl);
  const unsigned char *name = z + 1;
  *off = (size_t)(name - m);
  *n = (size_t)((const unsigned char *)memchr(name, 0, bl - (size_t)(name - b)) - name);
  return 1;
}

/*
 * Whether the thread carries this whole message inside an extended-protocol batch: Sync, Execute,
 * Describe and Bind, with the strings the statement lookup reads terminated. Anything malformed
 * goes to JavaScript, which refuses it in PostgreSQL's words.
 */
static int tx_batch_message(const unsigned char *m, uint32_t len) {
  const unsigned char *b = m + 5;
  size_t n = len - 4;
  switch (m[0]) {
  case 'S':
    return n == 0;
  case 'E': {
    const unsigned char *z = memchr(b, 0, n);
    return z && (size_t)(z - b) + 5 == n;
  }
  case 'D':
    return n >= 2 && (b[0] == 'S' || b[0] == 'P') && memchr(b + 1, 0, n - 1) == b + n - 1;
  case 'B': {
    const unsigned char *z = memchr(b, 0, n);
    return z && memchr(z + 1, 0, n - (size_t)(z + 1 - b)) != NULL;
  }
  default:
    return 0;
  }
}

/* The end (just past its Sync) of the batch starting at p in buf[0..len): 0 while incomplete, -1 when the thread does not carry it. */
static long tx_batch_end(const unsigned char *buf, size_t len, size_t p) {
  while (p + 5 <= len) {
    uint32_t l = be32(buf + p + 1);
    if (l < 4 || l > RELAY_BUF_SIZE - 1) return -1;
    if (p + 1 + l > len) return 0;
    if (!tx_batch_message(buf + p, l)) return -1;
    unsigned char t = buf[p];
    p += 1 + l;
    if (t == 'S') return (long)p;
  }
  return 0;
}

static int tx_is_batch_start(unsigned char t) { return t == 'B' || t == 'D' || t == 'E' || t == 'S'; }

/*
 * Checks the batch at p (whole, through its Sync) against the client's map and the server's
 * statements: TXR_* when it must go back to JavaScript, else -1 with *grow set to how many bytes
 * the renaming adds.
 */
static int tx_batch_check(const unsigned char *buf, size_t p, const unsigned char *names, size_t names_len, const uint32_t *held,
                          uint32_t nheld, long *grow) {
  *grow = 0;
  for (;;) {
    uint32_t l = be32(buf + p + 1);
    size_t off, n;
    if (tx_statement_ref(buf + p, l, &off, &n)) {
      uint32_t id = tx_name_id(names, names_len, buf + p + off, n);
      if (!id) return TXR_MESSAGE;
      if (!tx_holds(held, nheld, id)) return TXR_PREPARE;
      char nm[16];
      *grow += snprintf(nm, sizeof nm, "gh_%u", id) - (long)n;
    }
    unsigned char t = buf[p];
    p += 1 + l;
    if (t == 'S') return -1;
  }
}

/*
 * Renames the statements of the checked batch at p in place (the buffer has room for what
 * tx_batch_check said) and marks them used; returns the batch's new end and adds the growth to *len.
 */
static size_t tx_batch_rename(unsigned char *buf, size_t *len, size_t p, const unsigned char *names, size_t names_len, uint32_t *held,
                              uint32_t nheld) {
  for (;;) {
    uint32_t l = be32(buf + p + 1);
    size_t off, n;
    if (tx_statement_ref(buf + p, l, &off, &n)) {
      char nm[16];
      uint32_t id = tx_name_id(names, names_len, buf + p + off, n);
      tx_touch(held, nheld, id);
      size_t k = (size_t)snprintf(nm, sizeof nm, "gh_%u", id);
      unsigned char *at = buf + p + off;
      memmove(at + k, at + n, *len - (p + off + n));
      memcpy(at, nm, k);
      *len = *len + k - n;
      l = (uint32_t)(l + k - n);
      put_be32(buf + p + 1, l);
    }
    unsigned char t = buf[p];
    p += 1 + l;
    if (t == 'S') return p;
  }
}

#endif
