package server

// CrashCluster stops this node's heartbeat and watcher and drops its NATS
// connection without leaving, as a node killed with SIGKILL would: the
// other nodes must find it dead by its silence.
func (s *Server) CrashCluster() {
	cn := s.cluster
	cn.cancel()
	cn.done.Wait()
	cn.mu.Lock()
	cn.member = nil
	cn.mu.Unlock()
	cn.nc.Close()
}
