package main

import (
	"context"
	"database/sql/driver"
	"sync"
	"sync/atomic"
)

// statementCounter counts the statements the server sends to PostgreSQL,
// by wrapping the driver's connections. It sees every query and exec,
// whatever the query plan: a join that probes an index a hundred times is
// still one statement.
type statementCounter struct {
	n atomic.Int64

	mu        sync.Mutex
	recording bool
	log       []statement
}

// statement is one statement sent, with its arguments as the driver got
// them, and whether it ran inside a transaction.
type statement struct {
	Query string
	Args  []driver.NamedValue
	InTx  bool
	Kind  string // "query", "exec", "prepare", or "prepared" (a run of a prepared statement)
}

// record starts keeping the statements sent, forgetting those kept before.
func (c *statementCounter) record() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.recording, c.log = true, nil
}

// stop stops keeping statements and returns those kept since record.
func (c *statementCounter) stop() []statement {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.recording = false
	return c.log
}

func (c *statementCounter) sent(conn *countingConn, kind, q string, args []driver.NamedValue) {
	c.n.Add(1)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.recording {
		c.log = append(c.log, statement{Query: q, Args: args, InTx: conn.inTx, Kind: kind})
	}
}

func (c *statementCounter) wrap(next driver.Connector) driver.Connector {
	return &countingConnector{next: next, c: c}
}

func (c *statementCounter) count() int64 { return c.n.Load() }

type countingConnector struct {
	next driver.Connector
	c    *statementCounter
}

func (cc *countingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := cc.next.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: conn, c: cc.c}, nil
}

func (cc *countingConnector) Driver() driver.Driver { return cc.next.Driver() }

// countingConn passes every call on to lib/pq's connection, counting
// queries and execs. It implements the context interfaces pq implements,
// so that database/sql takes the same paths as without it.
type countingConn struct {
	driver.Conn
	c    *statementCounter
	inTx bool
}

func (c *countingConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	c.c.sent(c, "query", q, args)
	return c.Conn.(driver.QueryerContext).QueryContext(ctx, q, args)
}

func (c *countingConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	c.c.sent(c, "exec", q, args)
	return c.Conn.(driver.ExecerContext).ExecContext(ctx, q, args)
}

func (c *countingConn) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	c.c.sent(c, "prepare", q, nil)
	st, err := c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	return &countingStmt{Stmt: st, conn: c, query: q}, nil
}

// countingStmt counts the runs of a prepared statement, which go to
// lib/pq's statement, not its connection.
type countingStmt struct {
	driver.Stmt
	conn  *countingConn
	query string
}

func (s *countingStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	s.conn.c.sent(s.conn, "prepared", s.query, args)
	return s.Stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
}

func (s *countingStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	s.conn.c.sent(s.conn, "prepared", s.query, args)
	return s.Stmt.(driver.StmtExecContext).ExecContext(ctx, args)
}

func (c *countingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	tx, err := c.Conn.(driver.ConnBeginTx).BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	c.inTx = true
	return &countingTx{Tx: tx, conn: c}, nil
}

// countingTx notes the end of the transaction on its connection.
type countingTx struct {
	driver.Tx
	conn *countingConn
}

func (t *countingTx) Commit() error   { t.conn.inTx = false; return t.Tx.Commit() }
func (t *countingTx) Rollback() error { t.conn.inTx = false; return t.Tx.Rollback() }

func (c *countingConn) Ping(ctx context.Context) error { return c.Conn.(driver.Pinger).Ping(ctx) }

func (c *countingConn) ResetSession(ctx context.Context) error {
	if r, ok := c.Conn.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (c *countingConn) IsValid() bool {
	if v, ok := c.Conn.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

func (c *countingConn) CheckNamedValue(nv *driver.NamedValue) error {
	if ch, ok := c.Conn.(driver.NamedValueChecker); ok {
		return ch.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}
