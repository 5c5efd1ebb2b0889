/**
 * GPG 45 ("How to prove and verify someone's identity") scores and profiles.
 *
 * An identity check is scored in five parts: for each piece of evidence its strength and
 * validity, then activity history, identity fraud and verification (each 0-4). A confidence
 * level is met when the scores fit one of its profiles: every score at least the profile's,
 * and the profile's pieces of evidence each matched by a different piece achieved (in any
 * order). This is the rule GOV.UK One Login's identity core applies
 * (govuk-one-login/ipv-core-back, Gpg45Profile.isSatisfiedBy).
 *
 * Providers send their scores inside OpenID Connect for Identity Assurance `verified_claims`:
 * each item of `verification.evidence` may carry the score fields GOV.UK One Login's
 * credentials use: `strengthScore` and `validityScore` (a piece of evidence),
 * `activityHistoryScore`, `identityFraudScore`, `verificationScore` (policies/README.md).
 */

export interface EvidenceScore {
  strength: number;
  validity: number;
}

export interface Gpg45Scores {
  evidence: EvidenceScore[];
  activity: number;
  fraud: number;
  verification: number;
}

/** A profile from levels.yaml, e.g. M1B: evidence [[3, 2]], activity 1, fraud 2, verification 2. */
export interface Gpg45Profile {
  name: string;
  scores: Gpg45Scores;
}

/** The score fields an evidence item may carry (as GOV.UK One Login credentials name them). */
export const EVIDENCE_SCORE_FIELDS = ['strengthScore', 'validityScore', 'activityHistoryScore', 'identityFraudScore', 'verificationScore'] as const;

const isScore = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 4;

export class ScoresError extends Error {
  override readonly name = 'ScoresError';
}

/**
 * The scores carried by `verification.evidence` (undefined when no item carries any score).
 * Throws ScoresError when a score is not a whole number from 0 to 4, or a piece of evidence has
 * a strength without a validity (or the reverse).
 */
export function scoresFromEvidence(evidence: unknown): Gpg45Scores | undefined {
  if (evidence === undefined || evidence === null) return undefined;
  if (!Array.isArray(evidence)) throw new ScoresError('verification.evidence is not an array');
  const out: Gpg45Scores = { evidence: [], activity: 0, fraud: 0, verification: 0 };
  let any = false;
  evidence.forEach((item, i) => {
    if (!item || typeof item !== 'object' || Array.isArray(item)) return;
    const e = item as Record<string, unknown>;
    for (const field of EVIDENCE_SCORE_FIELDS) {
      if (e[field] !== undefined && !isScore(e[field])) throw new ScoresError(`evidence.${i}.${field} must be a whole number from 0 to 4`);
      if (e[field] !== undefined) any = true;
    }
    const hasStrength = e.strengthScore !== undefined;
    const hasValidity = e.validityScore !== undefined;
    if (hasStrength !== hasValidity) throw new ScoresError(`evidence.${i} has ${hasStrength ? 'strengthScore without validityScore' : 'validityScore without strengthScore'}`);
    if (hasStrength) out.evidence.push({ strength: e.strengthScore as number, validity: e.validityScore as number });
    if (e.activityHistoryScore !== undefined) out.activity = Math.max(out.activity, e.activityHistoryScore as number);
    if (e.identityFraudScore !== undefined) out.fraud = Math.max(out.fraud, e.identityFraudScore as number);
    if (e.verificationScore !== undefined) out.verification = Math.max(out.verification, e.verificationScore as number);
  });
  if (out.evidence.length > 8) throw new ScoresError('more than 8 pieces of evidence');
  return any ? out : undefined;
}

/** Evidence items that carry `scores` (the inverse of scoresFromEvidence, for providers and tests). */
export function evidenceWithScores(scores: Gpg45Scores): Record<string, number>[] {
  const items: Record<string, number>[] = scores.evidence.map((e) => ({ strengthScore: e.strength, validityScore: e.validity }));
  const checks = { activityHistoryScore: scores.activity, identityFraudScore: scores.fraud, verificationScore: scores.verification };
  if (items.length === 0) return [checks];
  return [{ ...items[0]!, ...checks }, ...items.slice(1)];
}

/** True when every required piece of evidence is met by a different achieved piece (strength and validity at least). */
function evidenceFits(required: readonly EvidenceScore[], achieved: readonly EvidenceScore[]): boolean {
  if (required.length > achieved.length) return false;
  const used = new Array<boolean>(achieved.length).fill(false);
  const place = (i: number): boolean => {
    if (i === required.length) return true;
    const r = required[i]!;
    for (let j = 0; j < achieved.length; j++) {
      const a = achieved[j]!;
      if (used[j] || a.strength < r.strength || a.validity < r.validity) continue;
      used[j] = true;
      if (place(i + 1)) return true;
      used[j] = false;
    }
    return false;
  };
  return place(0);
}

/** True when `achieved` meets `profile` (GOV.UK One Login's rule). */
export function profileMet(profile: Gpg45Scores, achieved: Gpg45Scores): boolean {
  return (
    achieved.activity >= profile.activity &&
    achieved.fraud >= profile.fraud &&
    achieved.verification >= profile.verification &&
    evidenceFits(profile.evidence, achieved.evidence)
  );
}

/** A score set written as GOV.UK One Login writes it: [42, 32], 1, 2, 2. */
export function formatScores(s: Gpg45Scores): string {
  return `[${s.evidence.map((e) => `${e.strength}${e.validity}`).join(', ')}], ${s.activity}, ${s.fraud}, ${s.verification}`;
}
