// A registry store that announces every committed change on the change feed, so each replica reloads its
// routing snapshot at once: a deployment quarantined through one replica (by an admin, or because its
// upstream served another digest) stops getting traffic on the others. As for keys and principals, a change
// that cannot be announced fails the call after the commit (the change stands; retrying is safe), and a
// change that lost its compare-and-set is not announced (nothing changed).
import type { ChangeFeed } from './pg-changes.js';
import type { DeploymentPatch, DeploymentRecord, DeploymentState, ModelVersionRecord, RegistryStore, TransitionStep, VersionVerification } from './registry-store.js';

export class AnnouncingRegistryStore implements RegistryStore {
  constructor(
    private readonly inner: RegistryStore,
    private readonly changes: ChangeFeed,
  ) {}

  private async announce<T>(changed: T, ids: readonly string[]): Promise<T> {
    if (changed !== false) for (const id of ids) await this.changes.publish({ type: 'model', id });
    return changed;
  }

  getVersion(id: string): Promise<ModelVersionRecord | undefined> {
    return this.inner.getVersion(id);
  }

  findVersion(model: string, version: string): Promise<ModelVersionRecord | undefined> {
    return this.inner.findVersion(model, version);
  }

  async setVersionVerification(id: string, v: VersionVerification): Promise<void> {
    await this.inner.setVersionVerification(id, v);
  }

  async insertDeployment(d: Omit<DeploymentRecord, 'model' | 'version' | 'artifactDigest'>, newVersion?: ModelVersionRecord): Promise<void> {
    await this.inner.insertDeployment(d, newVersion);
    await this.announce(true, [d.id]);
  }

  getDeployment(id: string): Promise<DeploymentRecord | undefined> {
    return this.inner.getDeployment(id);
  }

  listDeployments(filter?: { model?: string; state?: DeploymentState; tenant?: string }): Promise<DeploymentRecord[]> {
    return this.inner.listDeployments(filter);
  }

  async transition(id: string, from: DeploymentState, to: DeploymentState, patch: DeploymentPatch, at: number): Promise<boolean> {
    return this.announce(await this.inner.transition(id, from, to, patch, at), [id]);
  }

  async transitionAll(steps: readonly TransitionStep[], at: number): Promise<boolean> {
    // One announcement is enough: every replica reloads its whole snapshot.
    return this.announce(await this.inner.transitionAll(steps, at), steps.slice(-1).map((s) => s.id));
  }

  async setApprovals(id: string, state: DeploymentState, approvals: string[], at: number): Promise<boolean> {
    return this.announce(await this.inner.setApprovals(id, state, approvals, at), [id]);
  }
}
