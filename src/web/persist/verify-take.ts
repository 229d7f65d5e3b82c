/**
 * The check that frees a local copy: the server's record of the bytes it received (upload_size and
 * upload_sha256 of GET /api/recordings/:id) against this browser's count and sha256 of the take.
 */
import type { ServerRecordingCheck } from './sessions.ts';

/** Why the server's copy cannot be trusted to be the take, or undefined when size and sha256 both match. */
export function uploadMismatch(rec: ServerRecordingCheck, size: number, sha256: string): string | undefined {
  const serverSha = rec.metadata.upload_sha256;
  const serverSize = rec.metadata.upload_size === undefined ? undefined : Number(rec.metadata.upload_size);
  if (serverSha === undefined || serverSize === undefined)
    return 'The server did not report the size and sha256 of what it received; the local copy is kept';
  if (serverSize !== size)
    return `The server received ${serverSize} bytes, this browser recorded ${size}; the local copy is kept`;
  if (serverSha !== sha256)
    return 'The server received different bytes than this browser recorded (sha256 differs); the local copy is kept';
  return undefined;
}
