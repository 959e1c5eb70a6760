// Package source holds the provisioning engine's sources: the directories
// users and groups are read from (provision.Source).
//
// Every source names its attributes the way Microsoft Entra ID (Microsoft
// Graph) names a user's and a group's — userPrincipalName, givenName,
// surname, mail, jobTitle, department, employeeId, manager, accountEnabled,
// objectId and so on — so that Entra's default attribute mappings, written
// as [userPrincipalName] or Join(" ", [givenName], [surname]), work
// unchanged whatever the source is.
//
// File reads an HR export (CSV or JSON Lines) in full on every cycle; SCIM
// reads any SCIM 2.0 server, Roster's own directories included, in full on
// an initial cycle and by meta.lastModified on incremental ones.
package source
