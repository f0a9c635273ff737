/**
 * The Pod Security Standards `restricted` posture, in one place: every pod template this app
 * synthesizes (and every pod template of the custom resources it configures) takes its security
 * contexts from here, and `validation/posture.ts` checks the result.
 */

export interface SeccompProfile {
  readonly type: 'RuntimeDefault' | 'Localhost';
}

export interface PodSecurityContext {
  readonly runAsNonRoot?: boolean;
  readonly runAsUser?: number;
  readonly runAsGroup?: number;
  readonly fsGroup?: number;
  readonly fsGroupChangePolicy?: 'OnRootMismatch' | 'Always';
  readonly seccompProfile?: SeccompProfile;
}

export interface ContainerSecurityContext {
  readonly runAsNonRoot?: boolean;
  readonly runAsUser?: number;
  readonly runAsGroup?: number;
  readonly readOnlyRootFilesystem?: boolean;
  readonly allowPrivilegeEscalation?: boolean;
  readonly privileged?: boolean;
  readonly capabilities?: { readonly drop?: readonly string[]; readonly add?: readonly string[] };
  readonly seccompProfile?: SeccompProfile;
}

export interface ResourceRequirements {
  readonly requests?: Readonly<Record<string, string>>;
  readonly limits?: Readonly<Record<string, string>>;
}

/**
 * The user our images run as (their Dockerfiles' `USER 1000:1000`), the same uid the operator's
 * consumer Deployment sets (`buildConsumerDeployment`).
 */
export const APP_UID = 1000;

/**
 * Pod-level context: non-root, seccomp RuntimeDefault. `uid` is the image's user (left to the
 * image when `null`, which must then be numeric and non-root); `fsGroup` makes mounted volumes
 * writable by it.
 * @param uid @default APP_UID
 */
export function restrictedPod(uid: number | null = APP_UID, opts: { readonly fsGroup?: boolean } = {}): PodSecurityContext {
  return {
    runAsNonRoot: true,
    ...(uid === null ? {} : { runAsUser: uid, runAsGroup: uid }),
    ...(opts.fsGroup === true && uid !== null ? { fsGroup: uid, fsGroupChangePolicy: 'OnRootMismatch' as const } : {}),
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/** Container-level context: read-only root file system, no privilege escalation, no capabilities. */
export function restrictedContainer(): ContainerSecurityContext {
  return {
    runAsNonRoot: true,
    readOnlyRootFilesystem: true,
    allowPrivilegeEscalation: false,
    privileged: false,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  };
}
