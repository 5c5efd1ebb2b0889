/** The trust framework as data: the one public face of @idbroker/policies. */
export { loadPolicies, defaultPoliciesDir, PolicyError, formatIssue } from './loader.js';
export type { Policies, PolicyIssue, LoadOptions } from './loader.js';
export { Levels, LevelError } from './levels.js';
export type { Vector } from './levels.js';
export { attributeNameSchema, extraAttributeSchema } from './schema.js';
export { readPemCertificates } from './loader.js';
export { addService, addProvider, changeProvider, OnboardError } from './onboard.js';
export type { OnboardResult, OnboardOptions, ServiceChanges, ProviderAction } from './onboard.js';
export { providerText, serviceText, levelName } from './localised.js';
export type { PolicyLocale, ProviderText, ServiceText } from './localised.js';
export type {
  AttributeName,
  AuthenticationLevel,
  BrokerPolicy,
  ConfidenceLevel,
  ExtraAttributeName,
  IdentityProviderPolicy,
  WalletProviderPolicy,
  CredentialIssuerPolicy,
  LevelsFile,
  RelyingPartyPolicy,
  SecretRef,
} from './schema.js';
export { scoresFromEvidence, evidenceWithScores, profileMet, formatScores, ScoresError, EVIDENCE_SCORE_FIELDS } from './gpg45.js';
export type { Gpg45Scores, EvidenceScore, Gpg45Profile } from './gpg45.js';
export type { ConfidenceDecision } from './levels.js';
export type { Certification, Gpg45ProfileEntry } from './schema.js';
