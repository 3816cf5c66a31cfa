//! The protocol registry: adding a protocol is one line in the list below (plus its
//! folder). The list defines the [`Record`] enum of event records, its uniform
//! accessors, and the registries the engine consults.
use crate::{FrameProtocolDesc, ProtoRecord, ProtocolDesc};
use serde::Serialize;

macro_rules! protocols {
    (
        stream: [$( $sv:ident($sty:ty) = $sname:literal via $sdesc:path ),* $(,)?],
        frame: [$( $fv:ident($fty:ty) = $fname:literal ),* $(,)?],
        frame_parsers: [$( $fdesc:path ),* $(,)?] $(,)?
    ) => {
        /// One application transaction (request paired with its response) or a message
        /// that has no request (unsolicited response, broadcast, GOOSE).
        #[derive(Clone, Debug, PartialEq)]
        pub enum Record {
            $( $sv(Box<$sty>), )*
            $( $fv(Box<$fty>), )*
        }

        impl Record {
            /// The protocol name (`network.protocol`, dataset suffix, field prefix).
            pub fn protocol(&self) -> &'static str {
                match self {
                    $( Record::$sv(_) => $sname, )*
                    $( Record::$fv(_) => $fname, )*
                }
            }
            /// `event.dataset` of events carrying this record.
            pub fn dataset(&self) -> &'static str {
                match self {
                    $( Record::$sv(_) => concat!("sluice.", $sname), )*
                    $( Record::$fv(_) => concat!("sluice.", $fname), )*
                }
            }
            fn inner(&self) -> &dyn ProtoRecord {
                match self {
                    $( Record::$sv(t) => &**t, )*
                    $( Record::$fv(t) => &**t, )*
                }
            }
        }

        impl Serialize for RecordFields<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                match self.0 {
                    $( Record::$sv(t) => t.serialize(s), )*
                    $( Record::$fv(t) => t.serialize(s), )*
                }
            }
        }

        /// Every stream/datagram protocol, in probe order.
        pub static REGISTRY: &[&ProtocolDesc] = &[ $( &$sdesc, )* ];

        /// Every layer-2 protocol.
        pub static FRAME_REGISTRY: &[&FrameProtocolDesc] = &[ $( &$fdesc, )* ];

        /// Every protocol name Sluice knows.
        pub static PROTOCOL_NAMES: &[&str] = &[ $( $sname, )* $( $fname, )* ];
    };
}

protocols! {
    stream: [
        Modbus(crate::modbus::Transaction) = "modbus" via crate::modbus::DESC,
        Dnp3(crate::dnp3::Transaction) = "dnp3" via crate::dnp3::DESC,
        S7comm(crate::s7comm::Transaction) = "s7comm" via crate::s7comm::DESC,
        S7commplus(crate::s7commplus::Transaction) = "s7commplus" via crate::s7commplus::DESC,
        Enip(crate::enip::Transaction) = "enip" via crate::enip::DESC,
        Iec104(crate::iec104::Transaction) = "iec104" via crate::iec104::DESC,
        Bacnet(crate::bacnet::Transaction) = "bacnet" via crate::bacnet::DESC,
        Opcua(crate::opcua::Transaction) = "opcua" via crate::opcua::DESC,
        Mms(crate::mms::Transaction) = "mms" via crate::mms::DESC,
        Mqtt(crate::mqtt::Transaction) = "mqtt" via crate::mqtt::DESC,
        Dns(crate::dns::Transaction) = "dns" via crate::dns::DESC,
        Http(crate::http::Transaction) = "http" via crate::http::DESC,
        Tls(crate::tls::Transaction) = "tls" via crate::tls::DESC,
        Ssh(crate::ssh::Transaction) = "ssh" via crate::ssh::DESC,
        Rdp(crate::rdp::Transaction) = "rdp" via crate::rdp::DESC,
        Vnc(crate::vnc::Transaction) = "vnc" via crate::vnc::DESC,
        Smb(crate::smb::Transaction) = "smb" via crate::smb::DESC,
        Telnet(crate::telnet::Transaction) = "telnet" via crate::telnet::DESC,
        Ftp(crate::ftp::Transaction) = "ftp" via crate::ftp::DESC,
        Teamviewer(crate::teamviewer::Transaction) = "teamviewer" via crate::teamviewer::DESC,
        Anydesk(crate::anydesk::Transaction) = "anydesk" via crate::anydesk::DESC,
    ],
    frame: [
        Goose(crate::goose::Transaction) = "goose",
        Sv(crate::sv::Transaction) = "sv",
        ProfinetDcp(crate::profinet::DcpTransaction) = "profinet_dcp",
        ProfinetRt(crate::profinet::RtRecord) = "profinet_rt",
    ],
    frame_parsers: [crate::goose::DESC, crate::sv::DESC, crate::profinet::DESC],
}

impl Record {
    /// Number of the primary operation (uniform across protocols).
    pub fn function_code(&self) -> Option<u32> {
        self.inner().function_code()
    }
    /// Name of the primary operation.
    pub fn function(&self) -> Option<&str> {
        self.inner().function()
    }
    /// Read, write or engineering operation.
    pub fn operation(&self) -> crate::Operation {
        self.inner().operation()
    }
    /// The protocol's own fields (serialized under the protocol's name).
    pub fn fields(&self) -> RecordFields<'_> {
        RecordFields(self)
    }
}

/// Serializes the inner record of a [`Record`] without the enum tag.
pub struct RecordFields<'a>(&'a Record);

/// Look a stream protocol up by name.
pub fn by_name(name: &str) -> Option<&'static ProtocolDesc> {
    REGISTRY.iter().copied().find(|d| d.name == name)
}

impl Serialize for Record {
    /// `{"<protocol>": {fields}}`.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(1))?;
        m.serialize_entry(self.protocol(), &self.fields())?;
        m.end()
    }
}
