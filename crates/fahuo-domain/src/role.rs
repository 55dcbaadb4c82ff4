//! Staff roles and what each may do. The application layer checks a [`Permission`] before
//! every use-case; handlers never decide access themselves.

use crate::{ParseError, ShopId, WarehouseId};
use serde::{Deserialize, Serialize};

/// A staff role (角色).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Role {
    /// 主账号: everything, including users and settings.
    Owner,
    /// 管理员: everything but transferring ownership.
    Admin,
    /// 客服: reviews orders, reads receivers, handles after-sales.
    Service,
    /// 仓库: stock, packing, printing.
    Warehouse,
    /// 物流: carriers, waybills, printing, shipping.
    Logistics,
    /// 财务: reports and amounts, read-only on orders.
    Finance,
    /// 只读.
    Viewer,
}

/// An action that needs a role's permission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Permission {
    ViewOrders,
    EditOrders,
    ReviewOrders,
    RevealReceiver,
    ManageStock,
    PrintAndShip,
    ManageCatalog,
    ManageShops,
    ManageUsers,
    ViewAudit,
    ViewReports,
    ManageJobs,
    /// 售后: decide refunds and returns, return labels, pickups, reships, claims.
    HandleAfterSales,
    /// Approve refunds above the merchant's threshold (the second step after 客服 proposes).
    ApproveRefunds,
}

impl Role {
    pub const ALL: [Role; 7] = [
        Role::Owner,
        Role::Admin,
        Role::Service,
        Role::Warehouse,
        Role::Logistics,
        Role::Finance,
        Role::Viewer,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Service => "service",
            Role::Warehouse => "warehouse",
            Role::Logistics => "logistics",
            Role::Finance => "finance",
            Role::Viewer => "viewer",
        }
    }

    pub fn parse(s: &str) -> Result<Role, ParseError> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s.trim())
            .ok_or_else(|| ParseError::new("role", format!("unknown role {s:?}")))
    }

    /// The permission matrix, written as one exhaustive match so that a new permission
    /// forces a decision for every role.
    pub fn allows(self, permission: Permission) -> bool {
        use Permission::*;
        match self {
            Role::Owner | Role::Admin => true,
            Role::Service => matches!(
                permission,
                ViewOrders | EditOrders | ReviewOrders | RevealReceiver | HandleAfterSales
            ),
            Role::Warehouse => matches!(permission, ViewOrders | ManageStock | PrintAndShip),
            Role::Logistics => matches!(
                permission,
                ViewOrders | PrintAndShip | RevealReceiver | ReviewOrders
            ),
            Role::Finance => matches!(permission, ViewOrders | ViewReports | ViewAudit),
            Role::Viewer => matches!(permission, ViewOrders),
        }
    }
}

/// Which shops and warehouses a sub-account works on (数据范围). `None` means all of them,
/// including those added later; an owner and an admin always see everything.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Scope {
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Vec<i64>>))]
    pub shops: Option<Vec<ShopId>>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Vec<i64>>))]
    pub warehouses: Option<Vec<WarehouseId>>,
}

impl Scope {
    /// Every shop and every warehouse.
    pub fn all() -> Scope {
        Scope::default()
    }

    pub fn allows_shop(&self, shop: ShopId) -> bool {
        self.shops.as_ref().is_none_or(|s| s.contains(&shop))
    }

    pub fn allows_warehouse(&self, warehouse: WarehouseId) -> bool {
        self.warehouses
            .as_ref()
            .is_none_or(|w| w.contains(&warehouse))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scope_without_lists_allows_everything_and_a_list_only_its_members() {
        let all = Scope::all();
        assert!(all.allows_shop(ShopId(7)) && all.allows_warehouse(WarehouseId(3)));
        let some = Scope {
            shops: Some(vec![ShopId(1)]),
            warehouses: Some(vec![]),
        };
        assert!(some.allows_shop(ShopId(1)));
        assert!(!some.allows_shop(ShopId(2)));
        assert!(!some.allows_warehouse(WarehouseId(1)));
    }

    #[test]
    fn only_owners_and_admins_manage_users() {
        for role in Role::ALL {
            let expected = matches!(role, Role::Owner | Role::Admin);
            assert_eq!(role.allows(Permission::ManageUsers), expected, "{role:?}");
        }
    }

    #[test]
    fn every_role_can_see_orders_and_names_round_trip() {
        for role in Role::ALL {
            assert!(role.allows(Permission::ViewOrders));
            assert_eq!(Role::parse(role.as_str()), Ok(role));
        }
        assert!(Role::parse("root").is_err());
    }
}
