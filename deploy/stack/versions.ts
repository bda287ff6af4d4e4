/**
 * Pinned versions of every server the local stack runs. The Go-built servers come from
 * the Go module proxy with `go install`; the binaries are cached under
 * `.stack/bin/<name>-<version>`, so changing a version here triggers exactly one rebuild.
 */
export interface GoServer {
  /** Module path of the main package, as given to `go install`. */
  module: string;
  version: string;
  /** Needs cgo (and C libraries installed by `deploy/setup.sh`). */
  cgo: boolean;
}

export const goServers = {
  temporal: { module: 'github.com/temporalio/cli/cmd/temporal', version: 'v1.5.1', cgo: false },
  'nats-server': { module: 'github.com/nats-io/nats-server/v2', version: 'v2.12.1', cgo: false },
  'livekit-server': { module: 'github.com/livekit/livekit-server/cmd/server', version: 'v1.13.5', cgo: false },
} as const satisfies Record<string, GoServer>;

export type GoServerName = keyof typeof goServers;
