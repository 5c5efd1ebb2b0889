/**
 * Levels of assurance as vectors (RFC 8485): an authentication component and an identity
 * confidence component, written as GOV.UK One Login does, e.g. "Cl.Cm.P2".
 */
import { formatScores, profileMet, type Gpg45Profile, type Gpg45Scores } from './gpg45.js';
import type { AuthenticationLevel, ConfidenceLevel, LevelsFile } from './schema.js';

export interface Vector {
  /** Authentication (credential) component, e.g. "Cl.Cm". */
  readonly authentication: string;
  /** Identity confidence component, e.g. "P2". "P0" when the vector names none. */
  readonly confidence: string;
}

export class LevelError extends Error {
  override readonly name = 'LevelError';
}

/** The confidence GPG 45 scores reach, and the profile that reached it. */
export interface ConfidenceDecision {
  /** The highest confidence id reached ("P0" when no profile is met). */
  confidence: string;
  /** The profile met at that level (undefined for P0). */
  profile?: string;
}

export class Levels {
  readonly confidence: readonly ConfidenceLevel[];
  readonly authentication: readonly AuthenticationLevel[];
  readonly acrAliases: Readonly<Record<string, string>>;
  private readonly rules: LevelsFile['rules'];

  constructor(file: LevelsFile) {
    this.confidence = file.confidence;
    this.authentication = file.authentication;
    this.acrAliases = file.acr_aliases;
    this.rules = file.rules;
  }

  /** Every GPG 45 profile of levels.yaml, with the confidence level it reaches. */
  profiles(): Array<Gpg45Profile & { confidence: string }> {
    return this.confidence.flatMap((c) =>
      Object.entries(c.profiles).map(([name, p]) => ({
        name,
        confidence: c.id,
        scores: { evidence: p.evidence.map(([strength, validity]) => ({ strength, validity })), activity: p.activity, fraud: p.fraud, verification: p.verification },
      })),
    );
  }

  /** The confidence level a profile name belongs to, or undefined. */
  profileLevel(name: string): string | undefined {
    return this.confidence.find((c) => Object.hasOwn(c.profiles, name))?.id;
  }

  /**
   * Decide identity confidence from GPG 45 scores: the highest level with a profile the scores
   * meet, among `allowedProfiles` when given (the profiles a provider is certified for).
   */
  confidenceFromScores(scores: Gpg45Scores | undefined, allowedProfiles?: readonly string[]): ConfidenceDecision {
    if (!scores) return { confidence: this.confidence[0]?.id ?? 'P0' };
    let best: ConfidenceDecision = { confidence: this.confidence[0]?.id ?? 'P0' };
    let bestRank = 0;
    for (const p of this.profiles()) {
      if (allowedProfiles && !allowedProfiles.includes(p.name)) continue;
      const rank = this.confidenceRank(p.confidence);
      if (rank > bestRank && profileMet(p.scores, scores)) {
        best = { confidence: p.confidence, profile: p.name };
        bestRank = rank;
      }
    }
    return best;
  }

  /** The profiles of one level the scores meet (for messages and tests). */
  profilesMet(scores: Gpg45Scores, confidence: string): string[] {
    return this.profiles().filter((p) => p.confidence === confidence && profileMet(p.scores, scores)).map((p) => p.name);
  }

  /** Scores as GOV.UK One Login writes them, e.g. "[32], 1, 2, 2" (no personal data: for logs). */
  formatScores(scores: Gpg45Scores): string {
    return formatScores(scores);
  }

  /**
   * Decide authentication from RFC 8176 `amr` values: the highest level one of whose sets is
   * wholly within amr. undefined when none is (or amr is missing).
   */
  authenticationFromAmr(amr: readonly string[] | undefined): string | undefined {
    if (!amr || amr.length === 0) return undefined;
    let best: string | undefined;
    for (const a of this.authentication) {
      if (a.authenticators.amr.some((set) => set.every((v) => amr.includes(v)))) best = a.id;
    }
    return best;
  }

  /** Parse "Cl.Cm.P2" (or "Cl.Cm", meaning P0). Throws LevelError naming what is wrong. */
  parseVector(value: string): Vector {
    if (typeof value !== 'string' || value.length === 0 || value.length > 64) {
      throw new LevelError(`"${String(value).slice(0, 64)}" is not a level vector`);
    }
    const parts = value.split('.');
    const confidenceParts = parts.filter((p) => /^P\d$/.test(p));
    const authParts = parts.filter((p) => !/^P\d$/.test(p));
    if (confidenceParts.length > 1) throw new LevelError(`"${value}" names more than one identity confidence`);
    if (authParts.length === 0) throw new LevelError(`"${value}" names no authentication level (such as Cl)`);
    const authentication = authParts.join('.');
    const confidence = confidenceParts[0] ?? 'P0';
    if (this.authenticationRank(authentication) < 0) throw new LevelError(`"${value}": unknown authentication level "${authentication}"`);
    if (this.confidenceRank(confidence) < 0) throw new LevelError(`"${value}": unknown identity confidence "${confidence}"`);
    if (parts[parts.length - 1] !== confidence && confidenceParts.length === 1) {
      throw new LevelError(`"${value}": the identity confidence must come last, as in Cl.Cm.P2`);
    }
    const vector = { authentication, confidence };
    const broken = this.ruleBroken(vector);
    if (broken) throw new LevelError(`"${value}": ${broken}`);
    return vector;
  }

  /** Parse a `vtr` request parameter: a JSON array of vectors, any one of which will do. */
  parseVtr(vtr: string): Vector[] {
    let list: unknown;
    try {
      list = JSON.parse(vtr);
    } catch {
      throw new LevelError('vtr must be a JSON array of vectors, such as ["Cl.Cm.P2"]');
    }
    if (!Array.isArray(list) || list.length === 0 || list.length > 8 || !list.every((v) => typeof v === 'string')) {
      throw new LevelError('vtr must be a JSON array of one to eight vectors, such as ["Cl.Cm.P2"]');
    }
    return list.map((v) => this.parseVector(v));
  }

  /** Resolve acr_values (space separated): each an alias from levels.yaml or a vector. */
  parseAcrValues(acrValues: string): Vector[] {
    const values = acrValues.split(' ').filter(Boolean);
    if (values.length === 0) throw new LevelError('acr_values is empty');
    return values.map((v) => this.parseVector(this.acrAliases[v] ?? v));
  }

  format(vector: Vector): string {
    return vector.confidence === 'P0' ? vector.authentication : `${vector.authentication}.${vector.confidence}`;
  }

  confidenceRank(id: string): number {
    return this.confidence.findIndex((c) => c.id === id);
  }

  authenticationRank(id: string): number {
    return this.authentication.findIndex((a) => a.id === id);
  }

  /** True when `achieved` is at least `required` on both components. */
  satisfies(achieved: Vector, required: Vector): boolean {
    return (
      this.authenticationRank(achieved.authentication) >= this.authenticationRank(required.authentication) &&
      this.confidenceRank(achieved.confidence) >= this.confidenceRank(required.confidence)
    );
  }

  /** True when `achieved` meets at least one of the requested vectors. */
  satisfiesAny(achieved: Vector, requested: readonly Vector[]): boolean {
    return requested.some((r) => this.satisfies(achieved, r));
  }

  /** The rule of levels.yaml that this vector breaks, in words, or undefined. */
  ruleBroken(vector: Vector): string | undefined {
    for (const rule of this.rules) {
      if (
        this.confidenceRank(vector.confidence) >= this.confidenceRank(rule.confidence_at_least) &&
        this.authenticationRank(vector.authentication) < this.authenticationRank(rule.authentication_at_least)
      ) {
        return `identity confidence ${rule.confidence_at_least} and above needs authentication of at least ${rule.authentication_at_least}`;
      }
    }
    return undefined;
  }

  /** The confidence level's entry, for display. */
  describe(vector: Vector): { confidence: ConfidenceLevel; authentication: AuthenticationLevel } {
    const confidence = this.confidence[this.confidenceRank(vector.confidence)];
    const authentication = this.authentication[this.authenticationRank(vector.authentication)];
    if (!confidence || !authentication) throw new LevelError(`unknown level ${this.format(vector)}`);
    return { confidence, authentication };
  }

  /** Every vector this vocabulary can express that obeys the rules, lowest first (for discovery). */
  allVectors(): string[] {
    const out: string[] = [];
    for (const c of this.confidence) {
      for (const a of this.authentication) {
        const v = { authentication: a.id, confidence: c.id };
        if (!this.ruleBroken(v)) out.push(this.format(v));
      }
    }
    return out;
  }
}
