package postgres

import (
	"context"
	"errors"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"

	"bursar/internal/store/sqlstore"
)

// Every GET of an invoice reads its version (the API answers from the
// answer it kept while the version is unchanged), and on PostgreSQL the
// cost of that read is its round trip: a socket write that wakes a
// backend, and its answer that wakes the reader, for a lookup that costs
// far less. versionReads sends these reads over one connection of their
// own in pipeline mode: each read is written as soon as it comes, without
// waiting for the answers of those before it, and reads that come while
// another is being written go out in the same write. One backend then
// answers a stream of them without sleeping in between. Measured with
// `bursar bench`, a GET costs about 80 µs of machine CPU instead of 120
// (docs/performance.md).
//
// Each read is its own statement, sent after its call began, in its own
// implicit transaction (a Sync after each): it sees every change committed
// before the call, on any replica, as a read from the pool does.
//
// Anything that goes wrong (a lost connection, an error from the server,
// a read whose context ends) answers "not ok", and the store asks the
// pool instead; the connection is made again in the background, at most
// every reconnectEvery. A server that cannot keep the prepared statement
// (a pooler in transaction mode) turns the pipeline off for good.
type versionReads struct {
	url string
	// retry bounds the attempts to connect again (reconnectEvery).
	retry time.Duration

	mu         sync.Mutex
	p          *pipeline // nil while there is none
	connecting bool
	lastTry    time.Time
	off        bool // closed, or the server cannot keep the statement
}

const (
	versionStatement = "bursar_invoice_version"
	versionReadsApp  = "bursar version reads"
	versionQuery     = "SELECT version FROM invoices WHERE org_id = $1 AND id = $2"
	// reconnectEvery bounds the attempts to make the connection again.
	reconnectEvery = 5 * time.Second
	// connectTimeout bounds one attempt.
	connectTimeout = 10 * time.Second
	// writeTimeout bounds one write: a server that stops reading ends the
	// pipeline instead of holding its writer.
	writeTimeout = 10 * time.Second
	// maxPending sends a read to the pool when this many are waiting on
	// the connection: one slow answer (a page read from disk) holds up
	// those behind it, and no more than these should wait for it.
	maxPending = 64
	// maxWriteRounds bounds the writes one caller makes for others.
	maxWriteRounds = 4
)

var _ sqlstore.VersionReader = (*versionReads)(nil)

// newVersionReads returns reads over a pipeline to url, which the first
// read starts to connect (the statement needs the migrated schema); until
// it is up, reads go to the pool.
func newVersionReads(url string) *versionReads {
	return &versionReads{url: url, retry: reconnectEvery}
}

// ReadVersion implements sqlstore.VersionReader.
func (r *versionReads) ReadVersion(ctx context.Context, orgID, id string) (version int, found, ok bool) {
	p := r.pipeline()
	if p == nil {
		return 0, false, false
	}
	res, ok := p.read(orgID, id)
	if !ok {
		return 0, false, false
	}
	select {
	case <-res.done:
	case <-ctx.Done():
		return 0, false, false // the answer still comes, and is dropped
	}
	if res.noStatement {
		r.turnOff(p)
	}
	return res.version, res.found, res.ok
}

// pipeline returns the live pipeline, or nil; a dead one is replaced in
// the background.
func (r *versionReads) pipeline() *pipeline {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.off {
		return nil
	}
	if r.p != nil && !r.p.dead() {
		return r.p
	}
	if !r.connecting && time.Since(r.lastTry) >= r.retry {
		r.connecting, r.lastTry = true, time.Now()
		go r.reconnect()
	}
	return nil
}

func (r *versionReads) reconnect() {
	ctx, cancel := context.WithTimeout(context.Background(), connectTimeout)
	defer cancel()
	p, err := dialPipeline(ctx, r.url)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.connecting = false
	if err != nil {
		return
	}
	if r.off {
		p.close()
		return
	}
	if r.p != nil {
		r.p.close()
	}
	r.p = p
}

// turnOff stops the pipeline for good: the server forgot the prepared
// statement between two reads, as a pooler in transaction mode does.
func (r *versionReads) turnOff(p *pipeline) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.off = true
	p.close()
}

// Close implements sqlstore.VersionReader.
func (r *versionReads) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.off = true
	if r.p != nil {
		r.p.close()
	}
	return nil
}

// pipeline is one connection in pipeline mode: writers append their
// messages and one of them writes whatever has gathered; one goroutine
// reads the answers, which come in the order of the reads.
type pipeline struct {
	conn net.Conn

	mu       sync.Mutex
	out      []byte // messages not yet written
	spare    []byte
	writing  bool // a writer is writing out; others only append
	waiting  []*versionResult
	err      error // set once the connection failed or was closed
	finished chan struct{}
}

// versionResult is one read's answer, complete once done is closed.
type versionResult struct {
	version     int
	found, ok   bool
	noStatement bool // the server does not know the prepared statement
	done        chan struct{}
}

// dialPipeline connects, prepares the statement and takes the connection
// over from pgconn.
func dialPipeline(ctx context.Context, url string) (*pipeline, error) {
	cfg, err := pgconn.ParseConfig(url)
	if err != nil {
		return nil, err
	}
	// Operators see the connection for what it is in pg_stat_activity.
	cfg.RuntimeParams["application_name"] = versionReadsApp
	pc, err := pgconn.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if _, err := pc.Prepare(ctx, versionStatement, versionQuery, nil); err != nil {
		return nil, errors.Join(err, pc.Close(ctx))
	}
	// pgconn may buffer reads or read in the background; SyncConn stops
	// that before the connection changes hands.
	if err := pc.SyncConn(ctx); err != nil {
		return nil, errors.Join(err, pc.Close(ctx))
	}
	hj, err := pc.Hijack()
	if err != nil {
		return nil, errors.Join(err, pc.Close(ctx))
	}
	if err := hj.Conn.SetDeadline(time.Time{}); err != nil {
		return nil, errors.Join(err, hj.Conn.Close())
	}
	p := &pipeline{conn: hj.Conn, finished: make(chan struct{})}
	go p.receive(pgproto3.NewFrontend(hj.Conn, nil))
	return p, nil
}

// read sends one read; ok is false if the pipeline is dead or full.
func (p *pipeline) read(orgID, id string) (*versionResult, bool) {
	res := &versionResult{done: make(chan struct{})}
	p.mu.Lock()
	if p.err != nil || len(p.waiting) >= maxPending {
		p.mu.Unlock()
		return nil, false
	}
	p.out, _ = (&pgproto3.Bind{PreparedStatement: versionStatement, Parameters: [][]byte{[]byte(orgID), []byte(id)}}).Encode(p.out)
	p.out, _ = (&pgproto3.Execute{}).Encode(p.out)
	p.out, _ = (&pgproto3.Sync{}).Encode(p.out)
	p.waiting = append(p.waiting, res)
	if p.writing {
		p.mu.Unlock() // the writer at work writes this read too
		return res, true
	}
	p.writing = true
	p.mu.Unlock()
	p.writeOut(maxWriteRounds)
	return res, true
}

// writeOut writes what has gathered, and again what gathered meanwhile,
// rounds times at most; what comes after that is written by a goroutine
// of its own, so that no caller goes on writing others' reads instead of
// waiting for its own answer. It runs with writing set, and clears it.
func (p *pipeline) writeOut(rounds int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for ; len(p.out) > 0 && p.err == nil; rounds-- {
		if rounds == 0 {
			go p.writeOut(maxWriteRounds)
			return
		}
		out := p.out
		p.out = p.spare[:0]
		p.mu.Unlock()
		err := p.conn.SetWriteDeadline(time.Now().Add(writeTimeout))
		if err == nil {
			_, err = p.conn.Write(out)
		}
		p.mu.Lock()
		p.spare = out
		if err != nil {
			p.failLocked(err)
		}
	}
	p.writing = false
}

// receive reads the answers until the connection ends. Each read's answer
// ends with ReadyForQuery (its Sync). An error from the server answers
// "not ok" and ends the connection: a lookup by key has no error of its
// own to give, so the error is the session's (a plan the schema changed
// under, a forgotten statement), and a new connection prepares anew.
func (p *pipeline) receive(fe *pgproto3.Frontend) {
	defer close(p.finished)
	var cur versionResult
	var failed bool
	var serverErr error
	for {
		msg, err := fe.Receive()
		if err != nil {
			p.mu.Lock()
			p.failLocked(err)
			p.mu.Unlock()
			return
		}
		switch m := msg.(type) {
		case *pgproto3.DataRow:
			v, err := 0, errors.New("postgres: version reads: not one column")
			if len(m.Values) == 1 {
				v, err = strconv.Atoi(string(m.Values[0]))
			}
			if err != nil {
				// Not the answer to this statement: the session is lost.
				failed, serverErr = true, err
				break
			}
			cur.version, cur.found = v, true
		case *pgproto3.CommandComplete:
			// With no row, no such invoice; an answer that made no sense
			// is not ok.
			cur.ok = !failed
		case *pgproto3.ErrorResponse:
			cur = versionResult{noStatement: m.Code == "26000"} // invalid_sql_statement_name
			failed, serverErr = true, errors.New("postgres: version reads: "+m.Code+": "+m.Message)
		case *pgproto3.ReadyForQuery:
			p.mu.Lock()
			if len(p.waiting) == 0 {
				p.failLocked(errors.New("postgres: an answer to no read"))
				p.mu.Unlock()
				return
			}
			res := p.waiting[0]
			p.waiting[0] = nil
			p.waiting = p.waiting[1:]
			p.mu.Unlock()
			res.version, res.found, res.ok, res.noStatement = cur.version, cur.found, cur.ok, cur.noStatement
			close(res.done)
			if failed {
				p.mu.Lock()
				p.failLocked(serverErr)
				p.mu.Unlock()
				return
			}
			cur = versionResult{}
		}
	}
}

// failLocked ends the pipeline: every waiting read answers "not ok", and
// the connection is closed, which ends receive.
func (p *pipeline) failLocked(err error) {
	if p.err == nil {
		p.err = err
		_ = p.conn.Close() // the pipeline is over; a close error changes nothing
	}
	for _, res := range p.waiting {
		close(res.done) // ok stays false
	}
	p.waiting = nil
}

func (p *pipeline) dead() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err != nil
}

// close ends the pipeline and waits for its reader to stop.
func (p *pipeline) close() {
	p.mu.Lock()
	p.failLocked(net.ErrClosed)
	p.mu.Unlock()
	<-p.finished
}
