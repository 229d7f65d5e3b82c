/** Shapes of the server JSON as the UI reads them (see the *.schemas.ts files under src/server). */
import type { RecordingMode } from '../recorder/modes.ts';

export type Storage = 'server' | 'browser';

export interface User {
  id: string;
  email: string;
  displayName: string;
  createdAt: string;
}

export interface Me {
  user: User;
  features?: { storage?: Storage };
}

export type RecordingStatus = 'processing' | 'completed' | 'failed';

export interface Recording {
  id: string;
  userId: string;
  projectId: string | null;
  title: string;
  description?: string | null;
  recordingType: RecordingMode;
  duration: number;
  fileSize?: number | null;
  mimeType?: string | null;
  quality: 'high' | 'medium' | 'low';
  status: RecordingStatus;
  progress?: number | null;
  error?: string | null;
  mediaUrl?: string | null;
  thumbnailUrl?: string | null;
  metadata?: Record<string, unknown>;
  canEdit?: boolean;
  canDelete?: boolean;
  /** May make and revoke share links (issue 13). */
  canShare?: boolean;
  /** May resolve and reopen comments (owner and editors). */
  canResolveComments?: boolean;
  /** An unrevoked, unexpired share link exists. */
  shared?: boolean;
  /** Comments not deleted. */
  commentCount?: number;
  /** The rendered version that plays (issue 12), or null/absent when the original does. */
  currentVersionId?: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface RecordingPage {
  items: Recording[];
  nextCursor: string | null;
}

export type Role = 'owner' | 'editor' | 'viewer';

export interface Project {
  id: string;
  name: string;
  ownerId: string;
  role: Role;
  recordingCount?: number;
  createdAt: string;
  updatedAt: string;
}

export interface Member {
  userId: string;
  email: string;
  displayName: string;
  role: Role;
  addedAt: string;
}

/** One card in the library, whether it comes from the server or from this browser's IndexedDB. */
export interface CardItem {
  id: string;
  href: string;
  title: string;
  type: RecordingMode;
  durationSeconds: number;
  bytes: number | null;
  createdAt: string;
  status: RecordingStatus;
  progress: number | null;
  error: string | null;
  thumbnailUrl: string | null;
  projectId: string | null;
  canEdit: boolean;
  canDelete: boolean;
  /** A live share link exists (issue 13). */
  shared?: boolean;
  commentCount?: number;
  /** Set in browser mode on the user's server recordings (the library lists both sides there). */
  where?: 'server';
}
