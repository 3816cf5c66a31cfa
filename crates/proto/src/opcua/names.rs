//! Names of OPC UA message types, services (binary encoding node ids), status codes,
//! security modes, user token types and attributes (OPC UA Parts 4 and 6; the status
//! code list is the OPC Foundation's StatusCode.csv).
//!
//! Service names are `snake_case` without the Request/Response suffix (they are event
//! `function` names); status codes keep the standard's identifiers (`BadNodeIdUnknown`).

/// Message type name of a 3-byte message type.
pub fn message_type_name(t: &[u8; 3]) -> &'static str {
    match t {
        b"HEL" => "hello",
        b"ACK" => "acknowledge",
        b"ERR" => "error",
        b"RHE" => "reverse_hello",
        b"OPN" => "open_secure_channel",
        b"MSG" => "message",
        b"CLO" => "close_secure_channel",
        _ => "unknown",
    }
}

/// The 3 ASCII bytes of a message type as a number (`HEL` = 0x48454C): the
/// `function_code` of messages other than MSG.
pub fn message_type_code(t: &[u8; 3]) -> u32 {
    u32::from_be_bytes([0, t[0], t[1], t[2]])
}

/// (request encoding id, response encoding id, service name).
static SERVICES: &[(u32, u32, &str)] = &[
    (422, 425, "find_servers"),
    (12208, 12209, "find_servers_on_network"),
    (428, 431, "get_endpoints"),
    (437, 440, "register_server"),
    (12211, 12212, "register_server2"),
    (446, 449, "open_secure_channel"),
    (452, 455, "close_secure_channel"),
    (461, 464, "create_session"),
    (467, 470, "activate_session"),
    (473, 476, "close_session"),
    (479, 482, "cancel"),
    (488, 491, "add_nodes"),
    (494, 497, "add_references"),
    (500, 503, "delete_nodes"),
    (506, 509, "delete_references"),
    (527, 530, "browse"),
    (533, 536, "browse_next"),
    (554, 557, "translate_browse_paths_to_node_ids"),
    (560, 563, "register_nodes"),
    (566, 569, "unregister_nodes"),
    (615, 618, "query_first"),
    (621, 624, "query_next"),
    (631, 634, "read"),
    (664, 667, "history_read"),
    (673, 676, "write"),
    (700, 703, "history_update"),
    (712, 715, "call"),
    (751, 754, "create_monitored_items"),
    (763, 766, "modify_monitored_items"),
    (769, 772, "set_monitoring_mode"),
    (775, 778, "set_triggering"),
    (781, 784, "delete_monitored_items"),
    (787, 790, "create_subscription"),
    (793, 796, "modify_subscription"),
    (799, 802, "set_publishing_mode"),
    (826, 829, "publish"),
    (832, 835, "republish"),
    (841, 844, "transfer_subscriptions"),
    (847, 850, "delete_subscriptions"),
    (410, 413, "test_stack"),
    (416, 419, "test_stack_ex"),
];

/// What a service encoding id is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServiceKind {
    Request,
    Response,
    /// ServiceFault (397): a response to any request.
    Fault,
}

/// Service of an encoding id: (request id, name, kind).
pub fn service(id: u32) -> Option<(u32, &'static str, ServiceKind)> {
    if id == 397 {
        return Some((397, "service_fault", ServiceKind::Fault));
    }
    SERVICES.iter().find_map(|&(req, resp, name)| {
        if id == req {
            Some((req, name, ServiceKind::Request))
        } else if id == resp {
            Some((req, name, ServiceKind::Response))
        } else {
            None
        }
    })
}

/// The standard's type name of a service encoding id (`ReadRequest`).
pub fn service_type_name(id: u32) -> Option<String> {
    let (_, name, kind) = service(id)?;
    if kind == ServiceKind::Fault {
        return Some("ServiceFault".into());
    }
    let mut s = String::new();
    for part in name.split('_') {
        let mut c = part.chars();
        if let Some(f) = c.next() {
            s.extend(f.to_uppercase());
            s.push_str(c.as_str());
        }
    }
    s.push_str(match kind {
        ServiceKind::Request => "Request",
        _ => "Response",
    });
    Some(s)
}

pub fn security_mode_name(m: u32) -> &'static str {
    match m {
        0 => "Invalid",
        1 => "None",
        2 => "Sign",
        3 => "SignAndEncrypt",
        _ => "unknown",
    }
}

pub fn request_type_name(t: u32) -> &'static str {
    match t {
        0 => "issue",
        1 => "renew",
        _ => "unknown",
    }
}

/// User identity token type of an ActivateSession token's encoding id.
pub fn identity_token_name(encoding_id: u32) -> Option<&'static str> {
    Some(match encoding_id {
        321 => "anonymous",
        324 => "username",
        327 => "certificate",
        940 => "issued",
        _ => return None,
    })
}

pub fn user_token_type_name(t: u32) -> &'static str {
    match t {
        0 => "anonymous",
        1 => "username",
        2 => "certificate",
        3 => "issued",
        _ => "unknown",
    }
}

pub fn attribute_name(a: u32) -> &'static str {
    match a {
        1 => "NodeId",
        2 => "NodeClass",
        3 => "BrowseName",
        4 => "DisplayName",
        5 => "Description",
        6 => "WriteMask",
        7 => "UserWriteMask",
        8 => "IsAbstract",
        9 => "Symmetric",
        10 => "InverseName",
        11 => "ContainsNoLoops",
        12 => "EventNotifier",
        13 => "Value",
        14 => "DataType",
        15 => "ValueRank",
        16 => "ArrayDimensions",
        17 => "AccessLevel",
        18 => "UserAccessLevel",
        19 => "MinimumSamplingInterval",
        20 => "Historizing",
        21 => "Executable",
        22 => "UserExecutable",
        23 => "DataTypeDefinition",
        24 => "RolePermissions",
        25 => "UserRolePermissions",
        26 => "AccessRestrictions",
        27 => "AccessLevelEx",
        _ => "unknown",
    }
}

static STATUS: &[(u32, &str)] = &[
    (0x0000_0000, "Good"),
    (0x002D_0000, "GoodSubscriptionTransferred"),
    (0x002E_0000, "GoodCompletesAsynchronously"),
    (0x002F_0000, "GoodOverload"),
    (0x0030_0000, "GoodClamped"),
    (0x00BA_0000, "GoodResultsMayBeIncomplete"),
    (0x00EF_0000, "GoodPasswordChangeRequired"),
    (0x4000_0000, "Uncertain"),
    (0x8000_0000, "Bad"),
    (0x8001_0000, "BadUnexpectedError"),
    (0x8002_0000, "BadInternalError"),
    (0x8003_0000, "BadOutOfMemory"),
    (0x8004_0000, "BadResourceUnavailable"),
    (0x8005_0000, "BadCommunicationError"),
    (0x8006_0000, "BadEncodingError"),
    (0x8007_0000, "BadDecodingError"),
    (0x8008_0000, "BadEncodingLimitsExceeded"),
    (0x8009_0000, "BadUnknownResponse"),
    (0x800A_0000, "BadTimeout"),
    (0x800B_0000, "BadServiceUnsupported"),
    (0x800C_0000, "BadShutdown"),
    (0x800D_0000, "BadServerNotConnected"),
    (0x800E_0000, "BadServerHalted"),
    (0x800F_0000, "BadNothingToDo"),
    (0x8010_0000, "BadTooManyOperations"),
    (0x8011_0000, "BadDataTypeIdUnknown"),
    (0x8012_0000, "BadCertificateInvalid"),
    (0x8013_0000, "BadSecurityChecksFailed"),
    (0x8014_0000, "BadCertificateTimeInvalid"),
    (0x8015_0000, "BadCertificateIssuerTimeInvalid"),
    (0x8016_0000, "BadCertificateHostNameInvalid"),
    (0x8017_0000, "BadCertificateUriInvalid"),
    (0x8018_0000, "BadCertificateUseNotAllowed"),
    (0x8019_0000, "BadCertificateIssuerUseNotAllowed"),
    (0x801A_0000, "BadCertificateUntrusted"),
    (0x801B_0000, "BadCertificateRevocationUnknown"),
    (0x801C_0000, "BadCertificateIssuerRevocationUnknown"),
    (0x801D_0000, "BadCertificateRevoked"),
    (0x801E_0000, "BadCertificateIssuerRevoked"),
    (0x801F_0000, "BadUserAccessDenied"),
    (0x8020_0000, "BadIdentityTokenInvalid"),
    (0x8021_0000, "BadIdentityTokenRejected"),
    (0x8022_0000, "BadSecureChannelIdInvalid"),
    (0x8023_0000, "BadInvalidTimestamp"),
    (0x8024_0000, "BadNonceInvalid"),
    (0x8025_0000, "BadSessionIdInvalid"),
    (0x8026_0000, "BadSessionClosed"),
    (0x8027_0000, "BadSessionNotActivated"),
    (0x8028_0000, "BadSubscriptionIdInvalid"),
    (0x802A_0000, "BadRequestHeaderInvalid"),
    (0x802B_0000, "BadTimestampsToReturnInvalid"),
    (0x802C_0000, "BadRequestCancelledByClient"),
    (0x8031_0000, "BadNoCommunication"),
    (0x8032_0000, "BadWaitingForInitialData"),
    (0x8033_0000, "BadNodeIdInvalid"),
    (0x8034_0000, "BadNodeIdUnknown"),
    (0x8035_0000, "BadAttributeIdInvalid"),
    (0x8036_0000, "BadIndexRangeInvalid"),
    (0x8037_0000, "BadIndexRangeNoData"),
    (0x8038_0000, "BadDataEncodingInvalid"),
    (0x8039_0000, "BadDataEncodingUnsupported"),
    (0x803A_0000, "BadNotReadable"),
    (0x803B_0000, "BadNotWritable"),
    (0x803C_0000, "BadOutOfRange"),
    (0x803D_0000, "BadNotSupported"),
    (0x803E_0000, "BadNotFound"),
    (0x803F_0000, "BadObjectDeleted"),
    (0x8040_0000, "BadNotImplemented"),
    (0x8041_0000, "BadMonitoringModeInvalid"),
    (0x8042_0000, "BadMonitoredItemIdInvalid"),
    (0x8043_0000, "BadMonitoredItemFilterInvalid"),
    (0x8044_0000, "BadMonitoredItemFilterUnsupported"),
    (0x8045_0000, "BadFilterNotAllowed"),
    (0x8046_0000, "BadStructureMissing"),
    (0x8047_0000, "BadEventFilterInvalid"),
    (0x8048_0000, "BadContentFilterInvalid"),
    (0x8049_0000, "BadFilterOperandInvalid"),
    (0x804A_0000, "BadContinuationPointInvalid"),
    (0x804B_0000, "BadNoContinuationPoints"),
    (0x804C_0000, "BadReferenceTypeIdInvalid"),
    (0x804D_0000, "BadBrowseDirectionInvalid"),
    (0x804E_0000, "BadNodeNotInView"),
    (0x804F_0000, "BadServerUriInvalid"),
    (0x8050_0000, "BadServerNameMissing"),
    (0x8051_0000, "BadDiscoveryUrlMissing"),
    (0x8052_0000, "BadSempahoreFileMissing"),
    (0x8053_0000, "BadRequestTypeInvalid"),
    (0x8054_0000, "BadSecurityModeRejected"),
    (0x8055_0000, "BadSecurityPolicyRejected"),
    (0x8056_0000, "BadTooManySessions"),
    (0x8057_0000, "BadUserSignatureInvalid"),
    (0x8058_0000, "BadApplicationSignatureInvalid"),
    (0x8059_0000, "BadNoValidCertificates"),
    (0x805A_0000, "BadRequestCancelledByRequest"),
    (0x805B_0000, "BadParentNodeIdInvalid"),
    (0x805C_0000, "BadReferenceNotAllowed"),
    (0x805D_0000, "BadNodeIdRejected"),
    (0x805E_0000, "BadNodeIdExists"),
    (0x805F_0000, "BadNodeClassInvalid"),
    (0x8060_0000, "BadBrowseNameInvalid"),
    (0x8061_0000, "BadBrowseNameDuplicated"),
    (0x8062_0000, "BadNodeAttributesInvalid"),
    (0x8063_0000, "BadTypeDefinitionInvalid"),
    (0x8064_0000, "BadSourceNodeIdInvalid"),
    (0x8065_0000, "BadTargetNodeIdInvalid"),
    (0x8066_0000, "BadDuplicateReferenceNotAllowed"),
    (0x8067_0000, "BadInvalidSelfReference"),
    (0x8068_0000, "BadReferenceLocalOnly"),
    (0x8069_0000, "BadNoDeleteRights"),
    (0x806A_0000, "BadServerIndexInvalid"),
    (0x806B_0000, "BadViewIdUnknown"),
    (0x806D_0000, "BadTooManyMatches"),
    (0x806E_0000, "BadQueryTooComplex"),
    (0x806F_0000, "BadNoMatch"),
    (0x8070_0000, "BadMaxAgeInvalid"),
    (0x8071_0000, "BadHistoryOperationInvalid"),
    (0x8072_0000, "BadHistoryOperationUnsupported"),
    (0x8073_0000, "BadWriteNotSupported"),
    (0x8074_0000, "BadTypeMismatch"),
    (0x8075_0000, "BadMethodInvalid"),
    (0x8076_0000, "BadArgumentsMissing"),
    (0x8077_0000, "BadTooManySubscriptions"),
    (0x8078_0000, "BadTooManyPublishRequests"),
    (0x8079_0000, "BadNoSubscription"),
    (0x807A_0000, "BadSequenceNumberUnknown"),
    (0x807B_0000, "BadMessageNotAvailable"),
    (0x807C_0000, "BadInsufficientClientProfile"),
    (0x807D_0000, "BadTcpServerTooBusy"),
    (0x807E_0000, "BadTcpMessageTypeInvalid"),
    (0x807F_0000, "BadTcpSecureChannelUnknown"),
    (0x8080_0000, "BadTcpMessageTooLarge"),
    (0x8081_0000, "BadTcpNotEnoughResources"),
    (0x8082_0000, "BadTcpInternalError"),
    (0x8083_0000, "BadTcpEndpointUrlInvalid"),
    (0x8084_0000, "BadRequestInterrupted"),
    (0x8085_0000, "BadRequestTimeout"),
    (0x8086_0000, "BadSecureChannelClosed"),
    (0x8087_0000, "BadSecureChannelTokenUnknown"),
    (0x8088_0000, "BadSequenceNumberInvalid"),
    (0x8089_0000, "BadConfigurationError"),
    (0x808A_0000, "BadNotConnected"),
    (0x808B_0000, "BadDeviceFailure"),
    (0x808C_0000, "BadSensorFailure"),
    (0x80B8_0000, "BadRequestTooLarge"),
    (0x80B9_0000, "BadResponseTooLarge"),
    (0x80BD_0000, "BadInvalidTimestampArgument"),
    (0x80BE_0000, "BadProtocolVersionUnsupported"),
    (0x80BF_0000, "BadStateNotActive"),
    (0x80C1_0000, "BadFilterOperatorInvalid"),
    (0x80C2_0000, "BadFilterOperatorUnsupported"),
    (0x80C3_0000, "BadFilterOperandCountMismatch"),
    (0x80C4_0000, "BadFilterElementInvalid"),
    (0x80C5_0000, "BadFilterLiteralInvalid"),
    (0x80C6_0000, "BadIdentityChangeNotSupported"),
    (0x80C8_0000, "BadNotTypeDefinition"),
    (0x80C9_0000, "BadViewTimestampInvalid"),
    (0x80CA_0000, "BadViewParameterMismatch"),
    (0x80CB_0000, "BadViewVersionInvalid"),
    (0x80DB_0000, "BadTooManyMonitoredItems"),
    (0x80E5_0000, "BadTooManyArguments"),
    (0x80E6_0000, "BadSecurityModeInsufficient"),
    (0x80EA_0000, "BadIndexRangeDataMismatch"),
    (0x80ED_0000, "BadLocaleNotSupported"),
    (0x80EE_0000, "BadServerTooBusy"),
    (0x80F0_0000, "BadNoValue"),
    (0x810D_0000, "BadCertificateChainIncomplete"),
    (0x810E_0000, "BadLicenseExpired"),
    (0x810F_0000, "BadLicenseLimitsExceeded"),
    (0x8110_0000, "BadLicenseNotAvailable"),
    (0x8111_0000, "BadNotExecutable"),
    (0x8112_0000, "BadNumericOverflow"),
    (0x8114_0000, "BadCertificatePolicyCheckFailed"),
    (0x8115_0000, "BadAlreadyExists"),
];

/// Name of a status code (its sub-code; info bits are ignored).
pub fn status_name(code: u32) -> &'static str {
    let sub = code & 0xFFFF_0000;
    match STATUS.binary_search_by_key(&sub, |&(c, _)| c) {
        Ok(i) => STATUS.get(i).map_or("unknown", |&(_, n)| n),
        Err(_) => match code >> 30 {
            0 => "Good",
            1 => "Uncertain",
            _ => "Bad",
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(STATUS.windows(2).all(|w| w[0].0 < w[1].0));
        assert_eq!(status_name(0x8034_0000), "BadNodeIdUnknown");
        assert_eq!(status_name(0x8079_0000), "BadNoSubscription");
        assert_eq!(status_name(0), "Good");
        assert_eq!(status_name(0x80FF_0000), "Bad");
        assert_eq!(service(631), Some((631, "read", ServiceKind::Request)));
        assert_eq!(service(634), Some((631, "read", ServiceKind::Response)));
        assert_eq!(service_type_name(634).as_deref(), Some("ReadResponse"));
        assert_eq!(
            service_type_name(461).as_deref(),
            Some("CreateSessionRequest")
        );
        assert_eq!(message_type_code(b"HEL"), 0x48454C);
    }
}
